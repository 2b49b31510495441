// Package crmtest holds the conformance suite that every crm.CRM adapter
// passes, so that the bot can rely on the same behaviour from the builtin
// CRM, HubSpot, Salesforce and webhook adapters.
package crmtest
