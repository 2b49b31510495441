// Package wecomtest is a fake WeCom API server for tests: it issues and
// checks access tokens, validates the method, query and JSON body of every
// endpoint the wecom package calls (unknown fields and missing required
// fields are reported as test failures), records requests, and injects
// errcodes, HTTP errors and delays on demand.
package wecomtest
