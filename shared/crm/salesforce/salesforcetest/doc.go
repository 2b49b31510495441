// Package salesforcetest is an in-memory fake of the Salesforce endpoints
// the salesforce adapter uses: the OAuth token endpoint (client credentials
// and refresh token), SOQL queries (a subset parser: SELECT fields with
// parent relationships, FROM, WHERE with = != < <= > >= LIKE IN NOT IN and
// semi-join sub-selects, AND/OR with parentheses, ORDER BY, LIMIT), sObject
// create, update by id and upsert by external id.
//
// Requests are validated like Salesforce does: a wrong or expired bearer is
// 401 INVALID_SESSION_ID, malformed SOQL (including unescaped quotes and
// mixed AND/OR without parentheses) is 400 MALFORMED_QUERY, unknown fields
// are 400 INVALID_FIELD, bodies that are not JSON are 400 JSON_PARSER_ERROR.
// Each rejection is also recorded as a violation for tests to assert on.
package salesforcetest
