// Package wecom is the outbound WeCom (企业微信) API client: access-token and
// JS-SDK ticket caching shared across function instances, retries with
// backoff, and typed requests for the 微信客服 (kf), self-built app,
// external-contact, group-robot webhook and JS-SDK endpoints that
// wecom-crm-bot uses.
//
// A Client holds one app credential (corpID, secret). Several Clients, in one
// process or in many function instances, share tokens through a TokenStore
// (store.Store satisfies it): at most one instance calls gettoken per token
// lifetime, the others read the token it published.
//
// Vendor error codes come back as *APIError, which matches the domain
// sentinels with errors.Is (45009 → domain.ErrRateLimited, -1 →
// domain.ErrUnavailable, 40001 → domain.ErrConfig, …). Access tokens, secrets
// and webhook keys never appear in errors or logs.
//
// The callback side (signature, decryption, event parsing) lives in the
// sub-packages wxcrypt, event and callback.
package wecom
