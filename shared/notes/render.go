package notes

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"wecom-crm-bot/shared/domain"
)

// maxBody keeps a note within every CRM's limit (HubSpot ~65k chars,
// Salesforce Task.Description 32k).
const maxBody = 30000

// Render formats the conversation as one CRM note. Times are shown in loc.
func Render(c domain.Conversation, loc *time.Location) domain.Note {
	if loc == nil {
		loc = time.UTC
	}
	name := c.CustomerName
	if name == "" {
		name = "客户"
	}
	end := c.EndedAt
	if end.IsZero() {
		end = c.LastActivity
	}
	n := domain.Note{
		Key:       c.Key,
		ContactID: c.ContactID,
		Title:     fmt.Sprintf("企业微信会话 %s · %s", c.StartedAt.In(loc).Format("2006-01-02 15:04"), name),
		At:        c.StartedAt,
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	channel := c.Channel
	if c.OpenKfID != "" {
		channel += " · 微信客服 " + c.OpenKfID
	}
	line("渠道：%s", channel)
	line("参与者：%s", strings.Join(participants(c, name), "、"))
	dur := end.Sub(c.StartedAt).Round(time.Minute)
	line("时间：%s – %s（%s）", c.StartedAt.In(loc).Format("2006-01-02 15:04"), end.In(loc).Format("15:04"), humanDuration(dur))
	if c.EndReason != "" {
		line("结束原因：%s", endReason(c.EndReason))
	}
	if intents := intents(c); len(intents) > 0 {
		line("意图：%s", strings.Join(intents, "、"))
	}
	if q := unanswered(c); len(q) > 0 {
		line("未解答的问题：")
		for _, s := range q {
			line("  - %s", s)
		}
	}
	if h := c.Handoff; h != nil {
		to := h.To
		if to == "" || to == "pool" {
			to = "客服接待池"
		}
		line("转人工：%s 转给 %s（原因：%s）", h.At.In(loc).Format("15:04"), to, h.Reason)
	}
	if c.Satisfaction > 0 {
		line("满意度：%d/5", c.Satisfaction)
	} else {
		line("满意度：未评价")
	}
	if s, ok := sentiment(c); ok {
		line("情绪：%s（平均 %+.2f）", sentimentWord(s), s)
	}
	line("")
	line("—— 会话记录 ——")
	for _, t := range c.Turns {
		who := roleName(t, name)
		line("[%s] %s：%s", t.At.In(loc).Format("15:04:05"), who, strings.TrimSpace(t.Text))
	}
	n.Body = b.String()
	if len([]rune(n.Body)) > maxBody {
		r := []rune(n.Body)
		n.Body = string(r[:maxBody]) + "\n…（记录过长，已截断）"
	}
	return n
}

func participants(c domain.Conversation, customer string) []string {
	out := []string{customer + "（客户）"}
	seen := map[string]bool{}
	bot := false
	for _, t := range c.Turns {
		switch t.Role {
		case domain.RoleBot:
			bot = true
		case domain.RoleAgent:
			if t.Name != "" && !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, t.Name+"（客服）")
			}
		}
	}
	if bot {
		out = append(out, "智能助手")
	}
	return out
}

func roleName(t domain.Turn, customer string) string {
	switch t.Role {
	case domain.RoleCustomer:
		return customer
	case domain.RoleBot:
		return "智能助手"
	case domain.RoleAgent:
		if t.Name != "" {
			return "客服 " + t.Name
		}
		return "客服"
	default:
		return "系统"
	}
}

func intents(c domain.Conversation) []string {
	count := map[string]int{}
	for _, t := range c.Turns {
		if t.Role == domain.RoleCustomer && t.Intent != "" {
			count[t.Intent]++
		}
	}
	out := make([]string, 0, len(count))
	for k := range count {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if count[out[i]] != count[out[j]] {
			return count[out[i]] > count[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

func unanswered(c domain.Conversation) []string {
	var out []string
	for _, t := range c.Turns {
		if t.Role == domain.RoleCustomer && !t.Answered && t.Intent == "" && strings.TrimSpace(t.Text) != "" {
			out = append(out, strings.TrimSpace(t.Text))
		}
	}
	return out
}

func sentiment(c domain.Conversation) (float64, bool) {
	var sum float64
	var n int
	for _, t := range c.Turns {
		if t.Role == domain.RoleCustomer {
			sum += t.Sentiment
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

func sentimentWord(s float64) string {
	switch {
	case s <= -0.3:
		return "负面"
	case s >= 0.3:
		return "正面"
	default:
		return "中性"
	}
}

func endReason(r string) string {
	switch r {
	case "idle":
		return "客户无回复（超时）"
	case "session_ended":
		return "客服结束会话"
	case "completed":
		return "会话完成"
	case "agent_closed":
		return "客服关闭"
	default:
		return r
	}
}

func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "不到 1 分钟"
	}
	h := int(d.Hours())
	m := int(d.Minutes()) % 60
	if h > 0 {
		return fmt.Sprintf("%d 小时 %d 分钟", h, m)
	}
	return fmt.Sprintf("%d 分钟", m)
}
