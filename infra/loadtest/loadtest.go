package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/infra/localstack"
	"wecom-crm-bot/shared/notes"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/worker"
)

// Config describes one run. Zero values take the defaults noted.
type Config struct {
	Messages      int // customer messages in total; default 300
	Conversations int // customers, each with its own conversation; default 30
	// DataDir holds the stack's state (bbolt file, built-in CRM). Required.
	DataDir string
	// Store is the STORE URL; empty means bbolt in DataDir. Use
	// RedisServer.URL for Redis.
	Store string
	// Deliveries is how many times each callback is POSTed (WeCom's first
	// attempt plus its retries); default 4.
	Deliveries int
	// RetryInterval is the pause between deliveries and between the
	// emulator's own retries of an unacknowledged callback: WeCom's ~5 s
	// scaled down; default 200ms.
	RetryInterval time.Duration
	// Think is the mean pause before each message of a customer, after
	// the answer to the previous one (uniformly jittered 0..2×Think);
	// default 50ms.
	Think time.Duration
	// AnswerWait is how long a customer waits for an answer before writing
	// the next message anyway; default 30s.
	AnswerWait time.Duration
	// Timeout bounds the whole run; default 5m.
	Timeout time.Duration
	// Faults to inject while the load runs; the zero value injects none.
	Faults Faults
	// Logger receives the stack's logs; default: errors only, to stderr.
	Logger *slog.Logger
	// Progress, when set, is called with a line at each phase.
	Progress func(string)
}

// Faults selects the faults injected during a run.
type Faults struct {
	// WeCom injects API errors at 4 points of the run: system busy (-1) on
	// sync_msg and send_msg, rate limit (45009) on send_msg and an expired
	// access token (42001) on sync_msg and send_msg.
	WeCom bool
	// CRMEvery makes every n-th CRM call of the note sync fail, cycling
	// through HTTP 500, 429 with Retry-After and a timeout; 0 means never.
	CRMEvery int
	// CRMOutage, when > 0, takes the CRM down for this long while the
	// conversations end, so that note deliveries dead-letter; they are
	// replayed after it.
	CRMOutage time.Duration
	// RestartWorker stops the stack (callback, queue consumer mid-sync,
	// note sync) once, at 40% of the messages, and starts it again on the
	// same DataDir and address.
	RestartWorker bool
	// Redis, when set, is restarted (killed and started again after
	// RedisDown) at 60% of the messages. Store must point at it.
	Redis     *RedisServer
	RedisDown time.Duration // default 300ms
}

func (c *Config) defaults() {
	if c.Messages <= 0 {
		c.Messages = 300
	}
	if c.Conversations <= 0 {
		c.Conversations = 30
	}
	c.Conversations = min(c.Conversations, c.Messages)
	if c.Deliveries <= 0 {
		c.Deliveries = 4
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 200 * time.Millisecond
	}
	if c.Think <= 0 {
		c.Think = 50 * time.Millisecond
	}
	if c.AnswerWait <= 0 {
		c.AnswerWait = 30 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Faults.RedisDown <= 0 {
		c.Faults.RedisDown = 300 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
}

// Report is the outcome of a run.
type Report struct {
	Store                   string
	Messages, Conversations int
	// Callback deliveries (every POST, re-deliveries included) and the
	// latency of the acknowledged ones.
	Deliveries int
	Status     map[int]int // HTTP status of each delivery (0: connection failed)
	Latency    Latency
	// SendDuration is how long the customers took to send everything;
	// AnswerDuration is from the first message to the last answer.
	SendDuration, AnswerDuration time.Duration
	Throughput                   float64 // answered customer messages per second
	Emulator                     emulator.Stats
	// Invariants.
	Answered, Unanswered, DuplicateAnswers, DuplicateMsgIDs, StrayBotLines int
	NotesExpected, NotesFound, DuplicateNotes, DuplicateContacts           int
	// Faults and recovery.
	WeComInjected          int
	CRM                    CRMFaults
	WorkerRestarts         int
	RedisRestarts          int
	QueueDead, QueueReplay int // dead-lettered callback envelopes, replayed after the run
	NotesDead, NotesReplay int // dead-lettered note deliveries, replayed after the outage
	Violations             []string
}

// OK reports whether every invariant held.
func (r Report) OK() bool { return len(r.Violations) == 0 }

func (r *Report) violate(format string, args ...any) {
	if len(r.Violations) < 50 {
		r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
	} else if len(r.Violations) == 50 {
		r.Violations = append(r.Violations, "… (more)")
	}
}

// customer is one simulated WeChat user.
type customer struct {
	id   string
	msgs []question
}

// run holds the moving parts of one Run.
type run struct {
	cfg    Config
	emu    *emulator.Emulator
	emuSrv *httptest.Server
	watch  *sendWatch
	red    *redeliverer
	crm    *faultyCRM
	env    map[string]string
	addr   string

	mu        sync.Mutex
	stack     *localstack.Stack
	stopNotes func()
	notesDead atomic.Int64
	restarts  int
}

// Run drives one load run against a fresh local stack and checks the
// invariants. The error is for set-up failures; invariant violations are in
// the report (Report.OK).
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.defaults()
	if cfg.DataDir == "" {
		return Report{}, errors.New("loadtest: DataDir is required")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	pool, err := questionPool(12)
	if err != nil {
		return Report{}, err
	}
	r := &run{cfg: cfg, red: newRedeliverer(ctx, cfg.Deliveries, cfg.RetryInterval),
		crm: &faultyCRM{every: cfg.Faults.CRMEvery, timeout: 300 * time.Millisecond}}
	r.emu, err = emulator.New(emulator.Config{
		CorpID: localstack.DemoCorpID, Token: localstack.DemoToken, EncodingAESKey: localstack.DemoAESKey,
		KfSecret: localstack.DemoKfSecret, AppSecret: localstack.DemoAppSecret, AgentID: localstack.DemoAgentID,
		// The host is replaced by the redeliverer with the current stack's.
		CallbackURL: "http://stack.invalid/wecom/default", RetryInterval: cfg.RetryInterval,
		CallbackTimeout: 5 * time.Second, HTTPClient: &http.Client{Transport: r.red},
	})
	if err != nil {
		return Report{}, err
	}
	r.watch = newSendWatch(r.emu.Handler())
	r.emuSrv = httptest.NewServer(r.watch)
	defer r.emuSrv.Close()
	defer r.emu.Close()
	r.env = map[string]string{
		"DATA_DIR": cfg.DataDir, "STORE": cfg.Store, "LOG_LEVEL": "error", "CRM": "builtin",
		"WECOM_CORP_ID": localstack.DemoCorpID, "WECOM_TOKEN": localstack.DemoToken, "WECOM_AES_KEY": localstack.DemoAESKey,
		"WECOM_KF_SECRET": localstack.DemoKfSecret, "WECOM_APP_SECRET": localstack.DemoAppSecret,
		"WECOM_AGENT_ID": localstack.DemoAgentID, "WECOM_API_BASE": r.emuSrv.URL,
	}
	rep := Report{Store: cfg.Store, Messages: cfg.Messages, Conversations: cfg.Conversations}
	switch {
	case rep.Store == "":
		rep.Store = "bbolt"
	case strings.HasPrefix(rep.Store, "redis://"):
		rep.Store = "redis"
	}
	if err := r.start(ctx, "127.0.0.1:0"); err != nil {
		return rep, err
	}
	defer r.stop()

	// The customers and what they will say.
	customers := make([]customer, cfg.Conversations)
	for i := range customers {
		customers[i].id = "wmLOAD" + strconv.Itoa(100000+i)
	}
	for m := 0; m < cfg.Messages; m++ {
		c := &customers[m%len(customers)]
		c.msgs = append(c.msgs, pool[(m/len(customers)+m%len(customers))%len(pool)])
	}

	// Send phase, with the faults scheduled by progress.
	cfg.Progress(fmt.Sprintf("sending %d messages from %d customers (%s)", cfg.Messages, cfg.Conversations, rep.Store))
	var sent atomic.Int64
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		r.injectFaults(ctx, &sent, &rep)
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for _, c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(len(c.id)), uint64(c.id[len(c.id)-1])))
			answered := r.watch.ch(c.id)
			for _, q := range c.msgs {
				sleep(ctx, time.Duration(rng.Float64()*2*float64(cfg.Think)))
				r.watch.drain(c.id)
				if err := r.emu.CustomerSays(ctx, c.id, q.Text); err != nil {
					sendErr.Store(err)
					return
				}
				sent.Add(1)
				// Wait for the answer, as a person would (not forever: an
				// unanswered message is reported by the checks below).
				select {
				case <-answered:
				case <-time.After(cfg.AnswerWait):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	rep.SendDuration = time.Since(start)
	if err, _ := sendErr.Load().(error); err != nil {
		return rep, fmt.Errorf("loadtest: customer message: %w", err)
	}
	<-faultsDone

	// Wait until every message is answered (or the run times out).
	cfg.Progress("waiting for the answers")
	for {
		if r.check(customers, &Report{}) == cfg.Messages {
			break
		}
		if !sleep(ctx, 250*time.Millisecond) {
			break
		}
	}
	var last time.Time
	for _, c := range customers {
		for _, l := range r.emu.Transcript(c.id) {
			if l.From == "bot" && l.Time.After(last) {
				last = l.Time
			}
		}
	}
	rep.AnswerDuration = last.Sub(start)
	if rep.AnswerDuration > 0 {
		rep.Throughput = float64(cfg.Messages) / rep.AnswerDuration.Seconds()
	}

	// End every conversation (optionally while the CRM is down) and wait
	// for the notes.
	cfg.Progress("ending the conversations")
	if cfg.Faults.CRMOutage > 0 {
		r.crm.outage.Store(true)
	}
	for _, c := range customers {
		if err := r.emu.EndSession(ctx, c.id); err != nil {
			rep.violate("end session %s: %v", c.id, err)
		}
	}
	if cfg.Faults.CRMOutage > 0 {
		// Down for at least the window, and until half of the notes have
		// exhausted their attempts (at most 20 windows).
		sleep(ctx, cfg.Faults.CRMOutage)
		for i := 0; i < 20*int(cfg.Faults.CRMOutage/(50*time.Millisecond)) && r.notesDead.Load() < int64(len(customers)/2); i++ {
			sleep(ctx, 50*time.Millisecond)
		}
		r.crm.outage.Store(false)
	}
	rep.NotesExpected = len(customers)
	for {
		// The operator's replay: dead notes go back to the live queue.
		if n, err := notes.Replay(ctx, r.current().Store, worker.TopicNotes); err == nil {
			rep.NotesReplay += n
		}
		if r.countNotes(customers, &Report{}) == len(customers) {
			break
		}
		if !sleep(ctx, 200*time.Millisecond) {
			break
		}
	}

	// Dead callback envelopes (events whose sync found the account's
	// lease busy too often): replaying them must not change anything.
	s := r.current()
	if dead, err := s.Store.Dead(ctx, s.Queue.Topic(), 1000); err == nil {
		rep.QueueDead = len(dead)
		if n, err := notes.Replay(ctx, s.Store, s.Queue.Topic()); err == nil {
			rep.QueueReplay = n
		}
	}
	sleep(ctx, 4*cfg.RetryInterval+500*time.Millisecond) // re-deliveries and replays settle
	r.red.wait()
	if ctx.Err() != nil {
		rep.violate("run timed out after %s", cfg.Timeout)
	}

	// The invariants.
	rep.Answered = r.check(customers, &rep)
	rep.Unanswered = cfg.Messages - rep.Answered
	rep.NotesFound = r.countNotes(customers, &rep)
	if rep.NotesFound != rep.NotesExpected {
		rep.violate("%d notes for %d ended conversations", rep.NotesFound, rep.NotesExpected)
	}
	rep.Latency, rep.Status = r.red.summary()
	for _, n := range rep.Status {
		rep.Deliveries += n
	}
	rep.Emulator = r.emu.Stats()
	rep.WeComInjected = rep.Emulator.Injected
	rep.CRM = r.crm.stats()
	rep.NotesDead = int(r.notesDead.Load())
	r.mu.Lock()
	rep.WorkerRestarts = r.restarts
	r.mu.Unlock()
	if cfg.Faults.Redis != nil {
		rep.RedisRestarts = cfg.Faults.Redis.Restarts()
	}
	return rep, nil
}

// injectFaults fires the configured faults when the customers have sent
// given fractions of the messages.
func (r *run) injectFaults(ctx context.Context, sent *atomic.Int64, rep *Report) {
	f := r.cfg.Faults
	type step struct {
		at float64
		do func()
	}
	var steps []step
	if f.WeCom {
		for _, at := range []float64{0.1, 0.3, 0.5, 0.7} {
			steps = append(steps, step{at, func() {
				r.emu.Inject("/cgi-bin/kf/sync_msg", -1, 2)
				r.emu.Inject("/cgi-bin/kf/send_msg", 45009, 2)
				r.emu.Inject("/cgi-bin/kf/send_msg", 42001, 1)
				r.emu.Inject("/cgi-bin/kf/sync_msg", 42001, 1)
				r.emu.Inject("/cgi-bin/kf/send_msg", -1, 1)
			}})
		}
	}
	if f.RestartWorker {
		steps = append(steps, step{0.4, func() {
			if err := r.restart(ctx); err != nil {
				rep.violate("worker restart: %v", err)
			}
		}})
	}
	if f.Redis != nil {
		steps = append(steps, step{0.6, func() {
			if err := f.Redis.Restart(f.RedisDown); err != nil {
				rep.violate("redis restart: %v", err)
			}
		}})
	}
	total := float64(r.cfg.Messages)
	for len(steps) > 0 {
		next := 0
		for i, s := range steps {
			if s.at < steps[next].at {
				next = i
			}
		}
		for float64(sent.Load()) < steps[next].at*total {
			if !sleep(ctx, 5*time.Millisecond) || sent.Load() >= int64(r.cfg.Messages) {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
		steps[next].do()
		steps = append(steps[:next], steps[next+1:]...)
	}
}

// start starts a stack generation on addr, with its own note sync loop
// over the (possibly faulty) CRM.
func (r *run) start(ctx context.Context, addr string) error {
	s, err := localstack.Start(ctx, localstack.Options{
		Addr: addr, Getenv: func(k string) string { return r.env[k] }, NotePoll: time.Hour, Logger: r.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("loadtest: start stack: %w", err)
	}
	cached, err := s.App.CachedCRM(ctx)
	if err != nil {
		s.Close()
		return err
	}
	r.crm.set(cached)
	r.red.setTarget(s.URL)
	syncer := notes.NewSyncer(notes.Config{
		Outbox: s.Store, CRM: r.crm, NotesTopic: worker.TopicNotes, IdleTopic: worker.TopicIdle,
		CreateContacts: true, MaxAttempts: 3, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: r.cfg.Logger,
	})
	nctx, ncancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sleep(nctx, 50*time.Millisecond) {
			st, _ := syncer.Run(nctx)
			r.notesDead.Add(int64(st.Buried))
		}
	}()
	r.mu.Lock()
	r.stack, r.addr = s, s.URL[len("http://"):]
	r.stopNotes = func() { ncancel(); <-done }
	r.mu.Unlock()
	return nil
}

func (r *run) current() *localstack.Stack {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stack
}

// stop stops the current generation.
func (r *run) stop() error {
	r.mu.Lock()
	s, stopNotes := r.stack, r.stopNotes
	r.stack, r.stopNotes = nil, nil
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	stopNotes()
	return s.Close()
}

// restart stops the stack in the middle of its work and starts it again on
// the same state and address.
func (r *run) restart(ctx context.Context) error {
	r.cfg.Progress("restarting the worker")
	addr := r.addr
	if err := r.stop(); err != nil {
		return err
	}
	var err error
	for i := 0; i < 20; i++ { // the port may take a moment to be free
		if err = r.start(ctx, addr); err == nil {
			r.mu.Lock()
			r.restarts++
			r.mu.Unlock()
			return nil
		}
		sleep(ctx, 50*time.Millisecond)
	}
	return err
}

// check counts the customer messages answered exactly once, and records
// every violation in rep: per customer message, the bot's replies are the
// lines whose kf msgid derives from the message's (wecom.ReplyMsgID); the
// expected FAQ answer must be among them exactly once; no kf msgid may
// repeat; any other bot line is at most the one satisfaction survey sent
// when the session ends.
func (r *run) check(customers []customer, rep *Report) int {
	answered := 0
	for _, c := range customers {
		lines := r.emu.Transcript(c.id)
		byID := map[string]int{}
		for _, l := range lines {
			byID[l.MsgID]++
			if byID[l.MsgID] == 2 {
				rep.DuplicateMsgIDs++
				rep.violate("%s: kf msgid %s twice", c.id, l.MsgID)
			}
		}
		attributed := 0
		k := 0
		for _, l := range lines {
			if l.From != "customer" {
				continue
			}
			if k >= len(c.msgs) {
				rep.violate("%s: more customer messages than sent", c.id)
				break
			}
			want := c.msgs[k].Answer
			k++
			hits, group := 0, 0
			var got []string
			for i := 0; i < 5; i++ {
				id := wecom.ReplyMsgID(l.MsgID, i)
				for _, b := range lines {
					if b.MsgID == id && b.From == "bot" {
						group++
						got = append(got, truncate(b.Text, 24))
						if b.Text == want {
							hits++
						}
					}
				}
			}
			attributed += group
			switch {
			case hits == 1:
				answered++
			case hits == 0:
				rep.violate("%s: message %q not answered (replies: %q)", c.id, l.Text, got)
			default:
				rep.DuplicateAnswers++
				rep.violate("%s: message %q answered %d times", c.id, l.Text, hits)
			}
		}
		bots := 0
		for _, l := range lines {
			if l.From == "bot" {
				bots++
			}
		}
		if stray := bots - attributed; stray > 1 {
			rep.StrayBotLines += stray - 1
			rep.violate("%s: %d bot lines answer no customer message", c.id, stray)
		}
	}
	return answered
}

// countNotes counts the ended conversations with exactly one note on
// exactly one contact in the built-in CRM.
func (r *run) countNotes(customers []customer, rep *Report) int {
	snap := r.current().CRM.Snapshot()
	contacts := map[string][]string{} // external userid → contact ids
	for _, ct := range snap.Contacts {
		if ct.ExternalUserID != "" {
			contacts[ct.ExternalUserID] = append(contacts[ct.ExternalUserID], ct.ID)
		}
	}
	perContact := map[string]int{}
	for _, n := range snap.Notes {
		perContact[n.ContactID]++
	}
	ok := 0
	for _, c := range customers {
		ids := contacts[c.id]
		if len(ids) != 1 {
			if len(ids) > 1 {
				rep.DuplicateContacts++
			}
			rep.violate("%s: %d CRM contacts", c.id, len(ids))
			continue
		}
		switch n := perContact[ids[0]]; n {
		case 1:
			ok++
		case 0:
			rep.violate("%s: no note", c.id)
		default:
			rep.DuplicateNotes++
			rep.violate("%s: %d notes", c.id, n)
		}
	}
	return ok
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
