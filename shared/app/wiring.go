package app

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/crm/hubspot"
	"wecom-crm-bot/shared/crm/salesforce"
	"wecom-crm-bot/shared/crm/webhook"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/notes"
	"wecom-crm-bot/shared/platform"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/localq"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/worker"
)

// LocalQueue returns (once) the durable in-process queue over the store
// (QUEUE=memory). One instance per process, so that a publish wakes the
// consumer at once instead of at its next poll.
func (a *App) LocalQueue(ctx context.Context) (*localq.Queue, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.localq == nil {
		a.localq = localq.New(st, localq.Config{Logger: a.Logger})
	}
	return a.localq, nil
}

// Publisher opens the configured queue for publishing.
func (a *App) Publisher(ctx context.Context) (queue.Publisher, error) {
	q := a.Config.Queue
	switch {
	case q == "memory":
		return a.LocalQueue(ctx)
	case strings.HasPrefix(q, "sqs://"), strings.HasPrefix(q, "https://sqs."), strings.HasPrefix(q, "http://"):
		return openSQS(ctx, q)
	case strings.HasPrefix(q, "scf://"):
		return openSCF(q, a.Getenv)
	default:
		return nil, fmt.Errorf("app: QUEUE %q: want memory, sqs://… or scf://…", q)
	}
}

// Callback builds the callback HTTP handler.
func (a *App) Callback(ctx context.Context, pub queue.Publisher) (http.Handler, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	if len(a.Config.Channels) == 0 {
		return nil, fmt.Errorf("app: no WeCom channel configured (set WECOM_CORP_ID, WECOM_TOKEN, WECOM_AES_KEY)")
	}
	var chans []callback.Channel
	for _, ch := range a.Config.Channels {
		chans = append(chans, callback.Channel{Name: ch.Name, CorpID: ch.CorpID, Token: ch.Token, EncodingAESKey: ch.EncodingAESKey})
	}
	var opts []callback.Option
	if q, ok := pub.(*localq.Queue); ok && q.CanClaimAndPublish() {
		// Queue and claims live in the same store: one durable write per callback.
		opts = append(opts, callback.WithClaimPublisher(q))
	}
	return callback.NewHandler(chans, st, pub, a.Logger, opts...)
}

// WeComClient returns an API client for one credential, sharing the token
// cache through the store.
func (a *App) WeComClient(ctx context.Context, corpID, secret string) (*wecom.Client, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	return wecom.New(corpID, secret, wecom.WithBaseURL(a.Config.APIBase), wecom.WithTokenStore(st), wecom.WithLogger(a.Logger)), nil
}

// Channels builds the worker's per-channel API clients.
func (a *App) Channels(ctx context.Context) ([]worker.Channel, error) {
	var out []worker.Channel
	for _, ch := range a.Config.Channels {
		wc := worker.Channel{Name: ch.Name, CorpID: ch.CorpID}
		if ch.AgentID != "" {
			id, err := strconv.ParseInt(ch.AgentID, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("app: channel %s: agent id %q: %w", ch.Name, ch.AgentID, err)
			}
			wc.AgentID = id
		}
		if ch.KfSecret != "" {
			c, err := a.WeComClient(ctx, ch.CorpID, ch.KfSecret)
			if err != nil {
				return nil, err
			}
			wc.Kf = c
		}
		if ch.AppSecret != "" {
			c, err := a.WeComClient(ctx, ch.CorpID, ch.AppSecret)
			if err != nil {
				return nil, err
			}
			wc.App = c
		}
		if ch.ContactSecret != "" {
			c, err := a.WeComClient(ctx, ch.CorpID, ch.ContactSecret)
			if err != nil {
				return nil, err
			}
			wc.Contacts = c
		}
		out = append(out, wc)
	}
	return out, nil
}

// CRM returns (opening it once) the configured CRM adapter, without the cache.
func (a *App) CRM(ctx context.Context) (crm.CRM, error) {
	a.mu.Lock()
	c := a.crm
	a.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := a.openCRM()
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.crm == nil {
		a.crm = c
	}
	return a.crm, nil
}

// storeAndCRM opens what most builders need: the store and the CRM, behind
// the store-backed cache when cached is set.
func (a *App) storeAndCRM(ctx context.Context, cached bool) (store.Store, crm.CRM, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.CRM(ctx)
	if err != nil {
		return nil, nil, err
	}
	if cached {
		c = crm.NewCached(c, st, crm.WithCreateContacts(a.Config.CreateContacts), crm.WithLogger(a.Logger))
	}
	return st, c, nil
}

// CachedCRM returns the CRM behind the store-backed cache (contact mapping,
// short-lived customer context) and a hard timeout, as the worker uses it.
func (a *App) CachedCRM(ctx context.Context) (crm.CRM, error) {
	_, c, err := a.storeAndCRM(ctx, true)
	return c, err
}

func (a *App) openCRM() (crm.CRM, error) {
	c := a.Config
	switch c.CRM {
	case "builtin":
		return a.Builtin()
	case "hubspot":
		if c.HubSpotToken == "" {
			return nil, fmt.Errorf("app: CRM=hubspot needs HUBSPOT_TOKEN")
		}
		return hubspot.New(c.HubSpotToken, hubspot.WithBaseURL(c.HubSpotBase), hubspot.WithOwners(c.CRMOwners))
	case "salesforce":
		return salesforce.New(salesforce.Config{
			LoginURL: c.Salesforce.LoginURL, ClientID: c.Salesforce.ClientID, ClientSecret: c.Salesforce.ClientSecret,
			RefreshToken: c.Salesforce.RefreshToken, APIVersion: c.Salesforce.APIVersion, Owners: c.CRMOwners,
		})
	case "webhook":
		return webhook.New(c.CRMWebhookURL, c.CRMWebhookKey)
	}
	return nil, fmt.Errorf("app: unknown CRM %q", c.CRM)
}

// Builtin opens (once) the embedded CRM persisted under DATA_DIR.
func (a *App) Builtin() (*builtin.CRM, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.builtin != nil {
		return a.builtin, nil
	}
	b, err := builtin.New(builtin.WithFile(a.Config.CRMDataFile))
	if err != nil {
		return nil, fmt.Errorf("app: built-in CRM: %w", err)
	}
	a.builtin = b
	return b, nil
}

// Location is the business time zone.
func (a *App) Location() *time.Location {
	loc, err := time.LoadLocation(a.Config.TimeZone)
	if err != nil {
		return time.UTC // validated by config.Load; unreachable in practice
	}
	return loc
}

// Knowledge returns (once) the store-backed knowledge source the bot and the
// admin console share.
func (a *App) Knowledge(ctx context.Context) (*bot.KnowledgeSource, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.knowledge == nil {
		a.knowledge = bot.NewKnowledgeSource(st)
	}
	return a.knowledge, nil
}

// BotFor builds a bot over kb with the CRM behind its ports.
func (a *App) BotFor(kb *bot.Knowledge, customers crm.CRM) *bot.Bot {
	ports := bot.Ports{Appointments: appointments{customers}}
	if b, err := a.Builtin(); err == nil && a.Config.CRM == "builtin" {
		ports.Orders = orders{b}
	}
	if a.Config.LLMBaseURL != "" {
		ports.LLM = a.llm()
	}
	return bot.New(kb, ports, bot.WithLocation(a.Location()))
}

// Brain returns the bot as the worker uses it: always on the live knowledge version.
func (a *App) Brain(ctx context.Context, customers crm.CRM) (worker.Brain, error) {
	src, err := a.Knowledge(ctx)
	if err != nil {
		return nil, err
	}
	return &liveBrain{src: src, build: func(kb *bot.Knowledge) *bot.Bot { return a.BotFor(kb, customers) }}, nil
}

// Worker builds the queue consumer.
func (a *App) Worker(ctx context.Context) (*worker.Worker, error) {
	st, customers, err := a.storeAndCRM(ctx, true)
	if err != nil {
		return nil, err
	}
	brain, err := a.Brain(ctx, customers)
	if err != nil {
		return nil, err
	}
	chans, err := a.Channels(ctx)
	if err != nil {
		return nil, err
	}
	metrics, err := a.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	staff, err := a.Staff(ctx)
	if err != nil {
		return nil, err
	}
	w, err := worker.New(worker.Config{
		Channels: chans, State: st, Brain: brain, Customers: customers, Logger: a.Logger, Metrics: metrics,
		NoteIdle: a.Config.NoteIdle,
		Redact:   func(s string) string { return platform.RedactText(s, a.Config.LogContent) },
	})
	if err != nil {
		return nil, err
	}
	if staff != nil {
		w.SetStaff(staff)
	}
	return w, nil
}

// NoteSyncer builds the note delivery pass.
func (a *App) NoteSyncer(ctx context.Context) (*notes.Syncer, error) {
	st, customers, err := a.storeAndCRM(ctx, true)
	if err != nil {
		return nil, err
	}
	idle := a.Config.NoteIdle
	return notes.NewSyncer(notes.Config{
		Outbox: st, CRM: customers, TimeZone: a.Location(), CreateContacts: a.Config.CreateContacts, Logger: a.Logger,
		NotesTopic: worker.TopicNotes, IdleTopic: worker.TopicIdle,
		Idle: func(ctx context.Context, payload []byte, now time.Time) (time.Time, bool, error) {
			job, err := worker.DecodeIdleJob(payload)
			if err != nil {
				return time.Time{}, true, nil // unreadable: nothing to end
			}
			return worker.EndIfIdle(ctx, st, job, idle, now)
		},
	}), nil
}

// orders adapts the built-in CRM's order look-up to the bot's port.
type orders struct{ b *builtin.CRM }

func (o orders) Order(ctx context.Context, id string) (domain.Order, error) {
	return o.b.OrderByID(ctx, id)
}

// VerifyOrder returns order id only when phone is a phone number of a
// contact whose orders include it; anything else is domain.ErrNotFound.
func (o orders) VerifyOrder(ctx context.Context, id, phone string) (domain.Order, error) {
	e164, ok := crm.PhoneE164(phone)
	if !ok {
		return domain.Order{}, fmt.Errorf("verify order: phone: %w", domain.ErrNotFound)
	}
	cts, err := o.b.SearchContacts(ctx, e164, 5)
	if err != nil {
		return domain.Order{}, err
	}
	for _, ct := range cts {
		if ct.Phone != e164 {
			continue // a substring match on another field
		}
		cc, err := o.b.Context(ctx, ct.ID)
		if err != nil {
			return domain.Order{}, err
		}
		for _, x := range cc.Orders {
			if strings.EqualFold(x.ID, strings.TrimSpace(id)) {
				return x, nil
			}
		}
	}
	return domain.Order{}, fmt.Errorf("verify order %q: %w", id, domain.ErrNotFound)
}

// appointments books appointments as CRM tasks.
type appointments struct{ c crm.CRM }

func (a appointments) Book(ctx context.Context, t domain.Task) error {
	_, err := a.c.CreateTask(ctx, t)
	return err
}
