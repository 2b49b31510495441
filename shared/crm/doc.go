// Package crm is the port through which wecom-crm-bot reads customer history
// from a CRM and writes conversation notes and follow-up tasks back to it.
//
// The CRM interface is implemented by one adapter per vendor in
// sub-packages: builtin (embedded reference implementation and the local
// stack's default), hubspot, salesforce and webhook (a generic signed JSON
// contract for any other CRM). Every adapter passes the conformance suite in
// crmtest.
//
// This package also holds the decorators that sit between the bot and an
// adapter: Cached (caches the external_userid → contact mapping and the
// CustomerContext in a Store, with a hard timeout that degrades to
// domain.ErrUnavailable) and Counting (counts calls per method), the phone
// normaliser PhoneE164, and APIError, the shared translation of HTTP status
// codes into domain sentinel errors.
package crm
