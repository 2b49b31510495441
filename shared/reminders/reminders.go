package reminders

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
)

// Tasks lists open tasks (the CRM port).
type Tasks interface {
	ListTasks(ctx context.Context, q crm.TaskQuery) ([]domain.Task, error)
}

// Sender sends app messages (wecom.Client).
type Sender interface {
	SendAppMessage(ctx context.Context, m wecom.AppMessage) (wecom.AppSendResult, error)
}

// Robot posts to a group robot (wecom.Webhook).
type Robot interface {
	Send(ctx context.Context, key string, m wecom.WebhookMessage) error
}

// State is the part of the store a pass needs.
type State interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Unclaim(ctx context.Context, key string) error
	Counts(ctx context.Context, series string, from, to time.Time) (map[string]map[string]int64, error)
}

// Line is one line of the team summary: the day's count of one member of a
// counter series, or of every member when Member is empty.
type Line struct {
	Label  string
	Series string
	Member string
}

// DefaultSummary reads the daily counters the analytics recorder keeps
// (shared/analytics: SeriesWelcome, SeriesConversations, SeriesHandoff,
// SeriesMessages).
var DefaultSummary = []Line{
	{Label: "新客户", Series: analytics.SeriesWelcome},
	{Label: "会话", Series: analytics.SeriesConversations, Member: "start"},
	{Label: "转人工", Series: analytics.SeriesHandoff},
	{Label: "未解答问题", Series: analytics.SeriesMessages, Member: "unanswered"},
}

// Config holds a pass's dependencies and settings.
type Config struct {
	Tasks   Tasks
	State   State
	Sender  Sender // nil: no reminders or digests (no app configured)
	AgentID int64
	Robot   Robot
	// RobotKey is the group robot for the team summary; empty: no summary.
	RobotKey string
	// Owners maps CRM owner ids to WeCom userids, for tasks that do not
	// carry OwnerUserID (CRM_OWNERS).
	Owners   map[string]string
	Location *time.Location
	// Lead is how far ahead a due task is reminded. Default 15 minutes; keep
	// it longer than the schedule's interval.
	Lead time.Duration
	// DigestHour is the business hour from which the overdue digest (until
	// three hours later) and the team summary for the day before go out.
	// Default 9.
	DigestHour int
	Summary    []Line // default DefaultSummary
	Now        func() time.Time
	Logger     *slog.Logger
}

// Stats counts what one pass sent.
type Stats struct {
	Reminded, Digests, Summaries int
}

// Pass runs reminders.
type Pass struct{ cfg Config }

// New checks cfg and fills in defaults.
func New(cfg Config) (*Pass, error) {
	if cfg.Tasks == nil || cfg.State == nil {
		return nil, fmt.Errorf("reminders: Tasks and State are required: %w", domain.ErrConfig)
	}
	if cfg.RobotKey != "" && cfg.Robot == nil {
		return nil, fmt.Errorf("reminders: RobotKey without Robot: %w", domain.ErrConfig)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Lead <= 0 {
		cfg.Lead = 15 * time.Minute
	}
	if cfg.DigestHour <= 0 || cfg.DigestHour > 23 {
		cfg.DigestHour = 9
	}
	if cfg.Summary == nil {
		cfg.Summary = DefaultSummary
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Pass{cfg: cfg}, nil
}

// Run performs one pass. Errors of single messages do not stop the others;
// they are joined and returned, and their claims released for the next pass.
func (p *Pass) Run(ctx context.Context) (Stats, error) {
	now := p.cfg.Now().In(p.cfg.Location)
	var st Stats
	var errs []error
	if p.cfg.Sender != nil {
		tasks, err := p.cfg.Tasks.ListTasks(ctx, crm.TaskQuery{DueBefore: now.Add(p.cfg.Lead), Limit: 500})
		if err != nil {
			return st, fmt.Errorf("reminders: list tasks: %w", err)
		}
		overdue := map[string][]domain.Task{}
		for _, t := range tasks {
			if t.Done {
				continue
			}
			user := p.userOf(t)
			if user == "" {
				continue
			}
			// Due within the lead time, or just past (a pass may run late).
			if t.Due.After(now.Add(-p.cfg.Lead)) {
				sent, err := p.remind(ctx, user, t, now)
				errs = append(errs, err)
				if sent {
					st.Reminded++
				}
			}
			if !t.Due.After(now.Add(-p.cfg.Lead)) {
				overdue[user] = append(overdue[user], t)
			}
		}
		if h := now.Hour(); h >= p.cfg.DigestHour && h < p.cfg.DigestHour+3 { // a morning digest, not an afternoon one
			users := make([]string, 0, len(overdue))
			for u := range overdue {
				users = append(users, u)
			}
			sort.Strings(users)
			for _, u := range users {
				sent, err := p.digest(ctx, u, overdue[u], now)
				errs = append(errs, err)
				if sent {
					st.Digests++
				}
			}
		}
	}
	if p.cfg.RobotKey != "" && now.Hour() >= p.cfg.DigestHour {
		sent, err := p.summary(ctx, now)
		errs = append(errs, err)
		if sent {
			st.Summaries++
		}
	}
	return st, errors.Join(errs...)
}

func (p *Pass) userOf(t domain.Task) string {
	if t.OwnerUserID != "" {
		return t.OwnerUserID
	}
	return p.cfg.Owners[t.OwnerID]
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// once claims key, runs send, and releases the claim if send fails.
func (p *Pass) once(ctx context.Context, key string, ttl time.Duration, send func() error) (bool, error) {
	won, err := p.cfg.State.Claim(ctx, key, ttl)
	if err != nil {
		return false, fmt.Errorf("reminders: claim: %w", err)
	}
	if !won {
		return false, nil
	}
	if err := send(); err != nil {
		if uerr := p.cfg.State.Unclaim(context.WithoutCancel(ctx), key); uerr != nil {
			err = errors.Join(err, uerr)
		}
		return false, err
	}
	return true, nil
}

func (p *Pass) send(ctx context.Context, user, markdown string) error {
	_, err := p.cfg.Sender.SendAppMessage(ctx, wecom.AppMessage{AgentID: p.cfg.AgentID, ToUser: []string{user}, Markdown: markdown})
	if err != nil {
		return fmt.Errorf("reminders: message/send: %w", err)
	}
	return nil
}

func (p *Pass) remind(ctx context.Context, user string, t domain.Task, now time.Time) (bool, error) {
	key := "remind:" + t.ID + ":" + strconv.FormatInt(t.Due.Unix(), 10)
	ttl := t.Due.Sub(now) + 72*time.Hour
	return p.once(ctx, key, ttl, func() error {
		text := fmt.Sprintf("⏰ **任务提醒**\n%s\n> 截止：%s", t.Subject, t.Due.In(p.cfg.Location).Format("01-02 15:04"))
		if t.Body != "" {
			text += "\n> " + clip(t.Body, 200)
		}
		err := p.send(ctx, user, text)
		if err == nil {
			p.cfg.Logger.InfoContext(ctx, "reminders: reminder sent", "task_id", t.ID, "user", user)
		}
		return err
	})
}

func (p *Pass) digest(ctx context.Context, user string, ts []domain.Task, now time.Time) (bool, error) {
	key := "digest:" + user + ":" + now.Format(time.DateOnly)
	return p.once(ctx, key, 48*time.Hour, func() error {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Due.Before(ts[j].Due) })
		var b strings.Builder
		fmt.Fprintf(&b, "📋 **逾期任务**（%d 条）\n", len(ts))
		for i, t := range ts {
			if i == 20 {
				fmt.Fprintf(&b, "…另有 %d 条\n", len(ts)-i)
				break
			}
			days := int(startOfDay(now).Sub(startOfDay(t.Due.In(p.cfg.Location))).Hours() / 24)
			fmt.Fprintf(&b, "%d. %s（截止 %s，逾期 %d 天）\n", i+1, t.Subject, t.Due.In(p.cfg.Location).Format("01-02 15:04"), max(days, 0))
		}
		b.WriteString("\n发送「任务」查看并处理。")
		return p.send(ctx, user, b.String())
	})
}

func (p *Pass) summary(ctx context.Context, now time.Time) (bool, error) {
	y := startOfDay(now).AddDate(0, 0, -1)
	day := time.Date(y.Year(), y.Month(), y.Day(), 12, 0, 0, 0, time.UTC) // counters are keyed by calendar day
	key := "summary:" + y.Format(time.DateOnly)
	return p.once(ctx, key, 48*time.Hour, func() error {
		var b strings.Builder
		fmt.Fprintf(&b, "📊 **团队日报** %s\n", y.Format("2006-01-02"))
		for _, l := range p.cfg.Summary {
			counts, err := p.cfg.State.Counts(ctx, l.Series, day, day)
			if err != nil {
				return fmt.Errorf("reminders: counts %s: %w", l.Series, err)
			}
			var n int64
			for _, members := range counts {
				for m, c := range members {
					if l.Member == "" || m == l.Member {
						n += c
					}
				}
			}
			fmt.Fprintf(&b, "> %s：<font color=\"info\">%d</font>\n", l.Label, n)
		}
		if err := p.cfg.Robot.Send(ctx, p.cfg.RobotKey, wecom.WebhookMessage{Markdown: &wecom.WebhookMarkdown{Content: b.String()}}); err != nil {
			return fmt.Errorf("reminders: robot: %w", err)
		}
		return nil
	})
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
