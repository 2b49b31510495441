// Package app is the composition root shared by the functions: it turns the
// configuration into opened engines and wired use cases (store, queue, WeCom
// clients, CRM, bot, worker), so that every functions/*/main.go stays a few
// lines long. Nothing here holds business rules.
package app
