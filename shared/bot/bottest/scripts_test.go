package bottest_test

import (
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/bot/bottest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    string
		check      func(bottest.Script) bool
	}{
		{"full turn", "name: x\nchannel: kf\nturns:\n  - say: 你好\n    after: 2m\n    expect: {intent: greeting, flow: \"\", menu: ['*']}\n", "",
			func(s bottest.Script) bool {
				tn := s.Turns[0]
				return s.Channel == "kf" && tn.Say == "你好" && tn.After == 2*time.Minute && tn.Expect.Intent == "greeting" &&
					tn.Expect.Flow != nil && *tn.Expect.Flow == "" && len(tn.Expect.Menu) == 1
			}},
		{"customer and orders", "customer: {name: 张三, vip: true, orders: [{id: SO1}]}\nshop_orders: [{phone: '+8613000000002', order: {id: SO2}}]\n", "",
			func(s bottest.Script) bool {
				return s.Customer != nil && s.Customer.VIP && s.Customer.Orders[0].ID == "SO1" && s.ShopOrders[0].Order.ID == "SO2"
			}},
		{"unknown field", "name: x\nturns:\n  - say: hi\n    expect: {contain: hi}\n", "contain", nil},
		{"not yaml", "turns: [\n", "bottest", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := bottest.Parse([]byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(s) {
				t.Fatalf("Parse = %+v, %v", s, err)
			}
		})
	}
}

func TestLoadBotScripts(t *testing.T) {
	scripts := bottest.Load(t, "../testdata/conversations")
	s, ok := scripts["01_greeting.yaml"]
	if !ok || len(s.Turns) == 0 {
		t.Fatalf("01_greeting.yaml = %+v (of %d scripts)", s, len(scripts))
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("name: x\nturns:\n  - say: hi\n"))
	f.Add([]byte("customer: {orders: [{id: SO1}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = bottest.Parse(data) // must not panic
	})
}
