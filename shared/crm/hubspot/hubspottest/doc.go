// Package hubspottest is an in-memory fake of the HubSpot CRM endpoints the
// hubspot adapter uses (v3 objects: search, get, create, patch, batch
// upsert/read; v4 associations: list, default associate), for tests.
//
// It validates requests the way HubSpot does and answers with HubSpot's
// error shape ({"status":"error","message","correlationId","category"}):
// missing or wrong Bearer token → 401, unknown path → 404, bad JSON or
// non-string property values or missing/wrong associations → 400, duplicate
// unique property values → 409. Every such rejection is also recorded as a
// violation so that tests can assert that the adapter sent none. Faults
// (429 with a policy, 5xx, delays) can be injected.
package hubspottest
