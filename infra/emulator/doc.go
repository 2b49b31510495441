// Package emulator is an in-memory stand-in for the WeCom (企业微信) server
// API, for local development, demos and end-to-end tests without a WeCom
// account.
//
// An Emulator serves the /cgi-bin/... endpoints the product calls (gettoken,
// 微信客服 kf sync_msg / send_msg / send_msg_on_event / service_state /
// customer batchget, app message/send, external contacts, the group robot
// webhook and the JS-SDK tickets) with the JSON shapes and errcodes of the
// real service, and it pushes signed, encrypted callbacks to the configured
// callback URL the way WeCom does, including its retries. A browser chat page
// under /emulator/ plays the customer and the human agent.
//
// Behaviour worth knowing:
//
//   - Every endpoint except gettoken and webhook/send needs a valid
//     access_token (41001 missing, 40014 unknown, 42001 expired).
//   - Messages the bot sends with send_msg / send_msg_on_event come back from
//     sync_msg with origin 5 and no servicer_userid; servicer messages typed on
//     the page have origin 5 and a servicer_userid; customer messages origin 3;
//     events origin 4. Bots must act only on origin 3.
//   - Codes that the protocol leaves open use 40058 (invalid parameter): an
//     unknown or used send_msg_on_event code, a bad cursor, limit > 1000.
//   - Inject makes the next calls to a path fail with an errcode, or hang when
//     the errcode is Hang (0).
//
// Tests drive the customer side with CustomerSays, CustomerClicksMenu,
// CustomerEnters and friends, and read what happened with Transcript and Stats.
package emulator
