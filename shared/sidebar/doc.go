// Package sidebar serves the chat-toolbar (聊天工具栏) H5 page a sales rep opens
// beside a chat with a client: the client's CRM profile, open deals, recent
// notes and open tasks, with forms to add a note or a task.
//
// The page and its assets are embedded (no CDN of ours). Inside WeCom the
// page signs wx.config (corp jsapi_ticket) and wx.agentConfig (app
// agent_config ticket) with signatures from GET api/config, then asks
// wx.invoke('getCurExternalContact') for the client's external_userid.
//
// The rep's identity never comes from the browser: the page is entered
// through WeCom OAuth2 (snsapi_base); the code is exchanged server side
// (GET /cgi-bin/auth/getuserinfo) and the userid kept in an HMAC-signed
// session cookie. Writes need the session's CSRF token in X-CSRF-Token, and
// the rep must follow the client in 客户联系 when a contact API is configured.
package sidebar
