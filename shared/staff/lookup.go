package staff

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wecom-crm-bot/shared/domain"
)

const maxChoices = 8

// searchQuery normalises a look-up: phone numbers lose their spaces and dashes.
func searchQuery(q string) string {
	q = strings.TrimSpace(q)
	digits := 0
	for _, r := range q {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits >= 5 {
		q = strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' {
				return -1
			}
			return r
		}, q)
		q = strings.TrimPrefix(q, "+86")
	}
	return q
}

func (h *Handler) client(ctx context.Context, userID, arg string, now time.Time) (string, error) {
	q := searchQuery(arg)
	// "客户 2" picks from the last list of choices.
	if n, err := strconv.Atoi(q); err == nil && n > 0 && n <= maxChoices {
		items, err := h.loadList(ctx, clientsKey(userID))
		if err != nil {
			return "", err
		}
		if n <= len(items) {
			return h.contactCard(ctx, items[n-1].ID, now)
		}
	}
	found, err := h.cfg.CRM.SearchContacts(ctx, q, 20)
	if err != nil {
		return "", fromCRM(err)
	}
	switch {
	case len(found) == 0:
		return fmt.Sprintf("没有找到和「%s」相关的客户。可以试试姓名、手机号或公司名。", arg), nil
	case len(found) == 1:
		return h.contactCard(ctx, found[0].ID, now)
	}
	var exact []domain.Contact
	for _, c := range found {
		if c.Name == q {
			exact = append(exact, c)
		}
	}
	if len(exact) == 1 {
		return h.contactCard(ctx, exact[0].ID, now)
	}
	if company := sameCompany(found, q); company != "" {
		return h.companyCard(ctx, company, found, now)
	}
	if len(found) > maxChoices {
		found = found[:maxChoices]
	}
	items := make([]listItem, 0, len(found))
	var b strings.Builder
	fmt.Fprintf(&b, "找到 %d 位和「%s」相关的客户，请选择：\n", len(found), arg)
	for i, c := range found {
		items = append(items, listItem{ID: c.ID})
		fmt.Fprintf(&b, "%d. %s\n", i+1, contactLabel(c))
	}
	b.WriteString("\n回复「客户 序号」查看，例如「客户 1」。")
	return b.String(), h.saveList(ctx, clientsKey(userID), items)
}

// sameCompany returns the company when every contact works there and the
// query names the company rather than a person.
func sameCompany(cs []domain.Contact, q string) string {
	company := cs[0].Company
	if company == "" || !strings.Contains(strings.ToLower(company), strings.ToLower(q)) {
		return ""
	}
	for _, c := range cs {
		if c.Company != company || strings.Contains(c.Name, q) {
			return ""
		}
	}
	return company
}

func contactLabel(c domain.Contact) string {
	s := c.Name
	if c.Company != "" {
		s += " · " + c.Company
	}
	if c.Stage != "" {
		s += " · " + c.Stage
	}
	return s
}

func (h *Handler) contactCard(ctx context.Context, contactID string, now time.Time) (string, error) {
	cc, err := h.cfg.CRM.Context(ctx, contactID)
	if errors.Is(err, domain.ErrNotFound) {
		return "这位客户已不在 CRM 中。", nil
	}
	if err != nil {
		return "", fromCRM(err)
	}
	c := cc.Contact
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", c.Name)
	if c.VIP {
		b.WriteString(` <font color="warning">VIP</font>`)
	}
	b.WriteString("\n")
	if c.Company != "" {
		fmt.Fprintf(&b, "> 公司：%s\n", c.Company)
	}
	if c.Stage != "" {
		fmt.Fprintf(&b, "> 阶段：%s\n", c.Stage)
	}
	if owner := firstNonEmpty(c.OwnerName, c.OwnerUserID, c.OwnerID); owner != "" {
		fmt.Fprintf(&b, "> 负责人：%s\n", owner)
	}
	if c.Phone != "" {
		fmt.Fprintf(&b, "> 电话：%s\n", c.Phone)
	}
	writeDeals(&b, cc.Deals)
	writeNotes(&b, cc.Notes, h.cfg.Location)
	writeTasks(&b, cc.Tasks, now, h.cfg.Location)
	return b.String(), nil
}

func (h *Handler) companyCard(ctx context.Context, company string, cs []domain.Contact, now time.Time) (string, error) {
	var (
		deals []domain.Deal
		notes []domain.Note
		tasks []domain.Task
	)
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n", company)
	for i, c := range cs {
		if i >= 5 {
			fmt.Fprintf(&b, "> …另有 %d 位联系人\n", len(cs)-i)
			break
		}
		cc, err := h.cfg.CRM.Context(ctx, c.ID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return "", fromCRM(err)
		}
		if err == nil {
			c = cc.Contact
			deals, notes, tasks = append(deals, cc.Deals...), append(notes, cc.Notes...), append(tasks, cc.Tasks...)
		}
		fmt.Fprintf(&b, "> 联系人：%s（%s，负责人 %s）\n", c.Name, c.Stage, firstNonEmpty(c.OwnerName, c.OwnerUserID, c.OwnerID, "—"))
	}
	writeDeals(&b, deals)
	writeNotes(&b, notes, h.cfg.Location)
	writeTasks(&b, tasks, now, h.cfg.Location)
	return b.String(), nil
}

func writeDeals(b *strings.Builder, ds []domain.Deal) {
	if len(ds) == 0 {
		return
	}
	b.WriteString("\n**进行中的商机**\n")
	for _, d := range ds {
		fmt.Fprintf(b, "- %s · %s · %s\n", d.Name, d.Stage, money(d.Amount, d.Currency))
	}
}

func writeNotes(b *strings.Builder, ns []domain.Note, loc *time.Location) {
	if len(ns) == 0 {
		return
	}
	b.WriteString("\n**最近备注**\n")
	for i, n := range ns {
		if i == 3 {
			break
		}
		fmt.Fprintf(b, "- %s %s：%s\n", n.At.In(loc).Format("01-02"), n.Title, clip(oneLine(n.Body), 60))
	}
}

func writeTasks(b *strings.Builder, ts []domain.Task, now time.Time, loc *time.Location) {
	var open []domain.Task
	for _, t := range ts {
		if !t.Done {
			open = append(open, t)
		}
	}
	if len(open) == 0 {
		return
	}
	b.WriteString("\n**待办任务**\n")
	for _, t := range open {
		fmt.Fprintf(b, "- %s %s\n", formatDue(t.Due, now, loc), t.Subject)
	}
}

func (h *Handler) progress(ctx context.Context, arg string, now time.Time) (string, error) {
	q := strings.TrimSpace(arg)
	var contacts []domain.Contact
	seen := map[string]bool{}
	for _, cand := range queryCandidates(q) {
		found, err := h.cfg.CRM.SearchContacts(ctx, cand, 10)
		if err != nil {
			return "", fromCRM(err)
		}
		for _, c := range found {
			if !seen[c.ID] {
				seen[c.ID] = true
				contacts = append(contacts, c)
			}
		}
		if len(contacts) > 0 {
			break
		}
	}
	type hit struct {
		d domain.Deal
		c domain.Contact
	}
	var all, named []hit
	for i, c := range contacts {
		if i >= 5 {
			break
		}
		cc, err := h.cfg.CRM.Context(ctx, c.ID)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fromCRM(err)
		}
		for _, d := range cc.Deals {
			all = append(all, hit{d, cc.Contact})
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(q)) {
				named = append(named, hit{d, cc.Contact})
			}
		}
	}
	if len(named) > 0 {
		all = named
	}
	if len(all) == 0 {
		return fmt.Sprintf("没有找到和「%s」相关的进行中商机。", q), nil
	}
	var b strings.Builder
	for i, x := range all {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "**%s**\n", x.d.Name)
		fmt.Fprintf(&b, "> 客户：%s\n", contactLabel(x.c))
		stage := x.d.Stage
		if !x.d.StageSince.IsZero() {
			days := int(now.Sub(x.d.StageSince).Hours() / 24)
			stage += fmt.Sprintf("（已 %d 天）", max(days, 0))
		}
		fmt.Fprintf(&b, "> 阶段：%s\n", stage)
		if x.d.NextStep != "" {
			fmt.Fprintf(&b, "> 下一步：%s\n", x.d.NextStep)
		}
		fmt.Fprintf(&b, "> 金额：%s", money(x.d.Amount, x.d.Currency))
		if !x.d.CloseDate.IsZero() {
			fmt.Fprintf(&b, " · 预计成交 %s", x.d.CloseDate.In(h.cfg.Location).Format("2006-01-02"))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// queryCandidates are the searches tried for a progress query, most specific first.
func queryCandidates(q string) []string {
	out := []string{q}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) < 2 {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, f := range strings.Fields(q) {
		add(f)
	}
	r := []rune(q)
	if len(r) > 4 {
		add(string(r[:4]))
	}
	if len(r) > 2 {
		add(string(r[:2]))
	}
	if len(out) > 4 {
		out = out[:4]
	}
	return out
}

var (
	reHonorific = regexp.MustCompile(`(\p{Han})(?:总|经理|老师|先生|女士|小姐|工|姐|哥)`)
	reNamed     = regexp.MustCompile(`(?:给|跟|和|找|联系|拜访|回访|约|打电话给|call|email)\s*(\p{Han}{2,3})`)
)

// linkContact finds the client a task text names (王总, 给张三…). It links
// only an unambiguous match, and otherwise says why not.
func (h *Handler) linkContact(ctx context.Context, subject string) (domain.Contact, string) {
	type try struct {
		query  string
		prefix bool // match names starting with query (a surname), else exact
	}
	var tries []try
	if m := reNamed.FindStringSubmatch(subject); m != nil {
		r := []rune(m[1])
		tries = append(tries, try{string(r), false})
		if len(r) == 3 {
			tries = append(tries, try{string(r[:2]), false})
		}
	}
	if m := reHonorific.FindStringSubmatch(subject); m != nil {
		tries = append(tries, try{m[1], true})
	}
	for _, t := range tries {
		found, err := h.cfg.CRM.SearchContacts(ctx, t.query, 10)
		if err != nil {
			return domain.Contact{}, "" // linking is best effort; the task still gets created
		}
		var match []domain.Contact
		for _, c := range found {
			if (t.prefix && strings.HasPrefix(c.Name, t.query)) || (!t.prefix && c.Name == t.query) {
				match = append(match, c)
			}
		}
		switch {
		case len(match) == 1:
			return match[0], ""
		case len(match) > 1:
			var names []string
			for _, c := range match {
				names = append(names, c.Name)
			}
			return domain.Contact{}, "（未关联客户：「" + t.query + "」对应多位客户 " + strings.Join(names, "、") + "）"
		}
	}
	return domain.Contact{}, ""
}

var weekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// formatDue writes a due time for a rep: 今天 15:00, 明天 09:30, 11-28（周五）15:00.
func formatDue(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, loc) }
	diff := int(day(t).Sub(day(now)).Hours() / 24)
	clock := t.Format("15:04")
	switch diff {
	case 0:
		return "今天 " + clock
	case 1:
		return "明天 " + clock
	case -1:
		return "昨天 " + clock
	}
	if t.Year() != now.Year() {
		return t.Format("2006-01-02") + "（" + weekdays[t.Weekday()] + "）" + clock
	}
	return t.Format("01-02") + "（" + weekdays[t.Weekday()] + "）" + clock
}

func money(amount float64, currency string) string {
	sym := "¥"
	if currency != "" && currency != "CNY" {
		sym = currency + " "
	}
	n := strconv.FormatInt(int64(amount+0.5), 10)
	var b strings.Builder
	for i, r := range n {
		if i > 0 && (len(n)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sym + b.String()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || unicode.IsSpace(r) && r != ' ' }), " ")
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
