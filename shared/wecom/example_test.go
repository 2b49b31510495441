package wecom_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
)

// A worker builds one Client per credential at cold start, shares tokens
// through the store, and answers a pulled customer message idempotently.
func Example() {
	ctx := context.Background()
	var tokens wecom.TokenStore // store.Store from shared/store, opened in main
	kf := wecom.New(os.Getenv("WECOM_CORP_ID"), os.Getenv("WECOM_KF_SECRET"),
		wecom.WithTokenStore(tokens),
		wecom.WithLogger(slog.Default()))

	page, err := kf.SyncMsg(ctx, wecom.SyncMsgRequest{Token: "from callback", OpenKfID: "wk…"})
	if err != nil {
		return
	}
	for _, m := range page.MsgList {
		if m.Origin != wecom.OriginCustomer || m.MsgType != "text" {
			continue // our own replies come back too
		}
		out := wecom.ReplyToKf(domain.Reply{Text: "Thanks, " + m.Text.Content})
		out.ToUser, out.OpenKfID, out.MsgID = m.ExternalUserID, m.OpenKfID, wecom.ReplyMsgID(m.MsgID, 0)
		_, _ = kf.SendMsg(ctx, out) // errors: see errors.Is with domain and wecom sentinels
	}
}

func ExampleReplyToKf() {
	m := wecom.ReplyToKf(domain.Reply{
		Text: "How can I help?",
		Menu: []domain.MenuItem{{ID: "price", Text: "Pricing"}, {ID: "human", Text: "Talk to a person"}},
	})
	fmt.Println(m.MsgType, m.MsgMenu.HeadContent, len(m.MsgMenu.List), m.MsgMenu.List[1].Click.ID)
	// Output: msgmenu How can I help? 2 human
}

func ExampleJSSDKSignature() {
	fmt.Println(wecom.JSSDKSignature("ticket", "nonce", "1700000000", "https://crm.example.com/sidebar?x=1#/contact"))
	// Output: 710c139f3cc7e1fc5cc09ef827a0649e43464764
}
