package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strconv"
	"time"

	"wecom-crm-bot/shared/config"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/reminders"
	"wecom-crm-bot/shared/sidebar"
	"wecom-crm-bot/shared/staff"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/worker"
)

// builtinOwners maps WeCom userids to built-in CRM owners, read on every
// call so that owners added on the CRM page count at once.
type builtinOwners struct{ b *builtin.CRM }

func (o builtinOwners) OwnerID(_ context.Context, userID string) (string, error) {
	for _, ow := range o.b.Snapshot().Owners {
		if ow.UserID == userID && userID != "" {
			return ow.ID, nil
		}
	}
	return "", nil
}

// staffOwners returns how reps map to CRM owners: the built-in CRM knows
// their userids; other CRMs use CRM_OWNERS inverted.
func (a *App) staffOwners() (staff.Owners, map[string]string, error) {
	if a.Config.CRM == "builtin" {
		b, err := a.Builtin()
		if err != nil {
			return nil, nil, err
		}
		m := map[string]string{}
		for _, ow := range b.Snapshot().Owners {
			m[ow.ID] = ow.UserID
		}
		return builtinOwners{b}, m, nil
	}
	return staff.InvertOwners(a.Config.CRMOwners), a.Config.CRMOwners, nil
}

// Staff returns the staff command handler for self-built app messages.
func (a *App) Staff(ctx context.Context) (worker.StaffHandler, error) {
	st, c, err := a.storeAndCRM(ctx, false)
	if err != nil {
		return nil, err
	}
	owners, _, err := a.staffOwners()
	if err != nil {
		return nil, err
	}
	return staff.New(staff.Config{CRM: c, State: st, Owners: owners, Location: a.Location(), Logger: a.Logger.With("component", "staff")})
}

// appChannel is the first channel with a self-built app (where reps get messages).
func (a *App) appChannel() (config.Channel, bool) {
	for _, ch := range a.Config.Channels {
		if ch.AppSecret != "" && ch.AgentID != "" {
			return ch, true
		}
	}
	return config.Channel{}, false
}

// Reminders returns one pass of the reminders function: replay the staff
// writes kept during a CRM outage, then reminders, digests and the team
// summary.
func (a *App) Reminders(ctx context.Context) (func(ctx context.Context) error, error) {
	st, c, err := a.storeAndCRM(ctx, false)
	if err != nil {
		return nil, err
	}
	_, owners, err := a.staffOwners()
	if err != nil {
		return nil, err
	}
	cfg := reminders.Config{
		Tasks: c, State: st, Owners: owners, Location: a.Location(), Logger: a.Logger.With("component", "reminders"),
	}
	if ch, ok := a.appChannel(); ok {
		client, err := a.WeComClient(ctx, ch.CorpID, ch.AppSecret)
		if err != nil {
			return nil, err
		}
		agent, err := strconv.ParseInt(ch.AgentID, 10, 64)
		if err != nil {
			return nil, err
		}
		cfg.Sender, cfg.AgentID = client, agent
	} else {
		a.Logger.Warn("reminders: no self-built app configured; reminders and digests are off")
	}
	if a.Config.RobotKey != "" {
		cfg.Robot, cfg.RobotKey = wecom.NewWebhook(wecom.WithBaseURL(a.Config.APIBase)), a.Config.RobotKey
	}
	pass, err := reminders.New(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		applied, derr := staff.Drain(ctx, st, c, time.Now(), 50)
		stats, err := pass.Run(ctx)
		a.Logger.Info("reminders pass", "reminded", stats.Reminded, "digests", stats.Digests, "summaries", stats.Summaries, "replayed", applied)
		if derr != nil {
			return derr
		}
		return err
	}, nil
}

// Sidebar returns the chat-toolbar sidebar page handler (mounted at
// /sidebar/), or nil when no self-built app is configured. Its session key
// is derived from the app secret, so no extra secret is needed.
func (a *App) Sidebar(ctx context.Context) (http.Handler, error) {
	ch, ok := a.appChannel()
	if !ok {
		return nil, nil
	}
	c, err := a.CRM(ctx)
	if err != nil {
		return nil, err
	}
	owners, _, err := a.staffOwners()
	if err != nil {
		return nil, err
	}
	client, err := a.WeComClient(ctx, ch.CorpID, ch.AppSecret)
	if err != nil {
		return nil, err
	}
	contacts, err := a.WeComClient(ctx, ch.CorpID, ch.ContactSecret)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, []byte(ch.AppSecret))
	mac.Write([]byte("wecom-crm-bot sidebar session v1"))
	return sidebar.New(sidebar.Config{
		CorpID: ch.CorpID, AgentID: ch.AgentID, Tickets: client, Contacts: contacts,
		Identity: sidebar.NewOAuth(a.Config.APIBase, ch.CorpID, ch.AppSecret, nil),
		CRM:      c, Owners: owners, SessionKey: mac.Sum(nil), Location: a.Location(),
		Logger: a.Logger.With("component", "sidebar"),
	})
}
