package staff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// PendingTopic is the outbox topic of CRM writes kept during an outage.
const PendingTopic = "staff_pending"

// State is the part of the store the handler needs: the last list shown to
// each rep, and the outbox for writes the CRM could not take.
type State interface {
	Get(ctx context.Context, key string) (store.Record, error)
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
	Add(ctx context.Context, item store.Item) error
}

// Owners maps a WeCom userid to the rep's CRM owner id ("" when unknown).
type Owners interface {
	OwnerID(ctx context.Context, userID string) (string, error)
}

// OwnerMap is an Owners over a fixed map of WeCom userid → CRM owner id.
type OwnerMap map[string]string

// OwnerID implements Owners.
func (m OwnerMap) OwnerID(_ context.Context, userID string) (string, error) { return m[userID], nil }

// InvertOwners turns CRM_OWNERS (CRM owner id → WeCom userid) into an OwnerMap.
func InvertOwners(crmOwners map[string]string) OwnerMap {
	m := OwnerMap{}
	for owner, user := range crmOwners {
		m[user] = owner
	}
	return m
}

// Config holds the handler's dependencies.
type Config struct {
	CRM      crm.CRM
	State    State
	Owners   Owners
	Location *time.Location // business time zone; default Asia/Shanghai… or UTC if unavailable
	Logger   *slog.Logger
	// ListTTL is how long the last list (tasks, client choices) is kept. Default 7 days.
	ListTTL time.Duration
}

// Handler answers staff commands. It implements worker.StaffHandler.
type Handler struct{ cfg Config }

// New returns a Handler; CRM, State and Owners are required.
func New(cfg Config) (*Handler, error) {
	if cfg.CRM == nil || cfg.State == nil || cfg.Owners == nil {
		return nil, fmt.Errorf("staff: CRM, State and Owners are required: %w", domain.ErrConfig)
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.UTC
		}
		cfg.Location = loc
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ListTTL <= 0 {
		cfg.ListTTL = 7 * 24 * time.Hour
	}
	return &Handler{cfg: cfg}, nil
}

// Messages shown to reps.
const (
	msgOutage   = "CRM 暂时无法访问，请稍后再试。"
	msgConfig   = "CRM 配置有误，暂时无法查询，请联系管理员。"
	msgNoOwner  = "你的企业微信账号还没有关联 CRM 负责人，暂时不能管理任务。请管理员在 CRM 中为你设置企业微信 userid（或配置 CRM_OWNERS）。"
	msgNoList   = "请先发送「任务」查看任务列表，再用序号操作，例如「完成 1」。"
	msgRemindEx = "示例：提醒我 周五下午3点 给王总发报价"
)

// HelpText lists the commands.
const HelpText = `**可用命令**
- 客户 张三 ／ /client 138… ／ 客户 星辰贸易：查客户资料
- 任务 ／ todo：我的待办
- 提醒我 周五下午3点 给王总发报价：新建任务
- 完成 3：完成上次列表的第 3 条
- 推迟 3 明天上午：推迟第 3 条
- 进度 星辰贸易：商机进度
- 帮助 ／ help：显示本说明`

// Handle implements worker.StaffHandler.
func (h *Handler) Handle(ctx context.Context, userID, text string, now time.Time) (domain.Reply, bool, error) {
	cmd, ok := Parse(text)
	if !ok {
		return domain.Reply{}, false, nil
	}
	now = now.In(h.cfg.Location)
	var (
		out string
		err error
	)
	switch cmd.Kind {
	case KindHelp:
		out = HelpText
	case KindClient:
		out, err = h.client(ctx, userID, cmd.Arg, now)
	case KindTasks:
		out, err = h.tasks(ctx, userID, now)
	case KindRemind:
		out, err = h.remind(ctx, userID, cmd.Arg, now)
	case KindComplete:
		out, err = h.complete(ctx, userID, cmd.Index, now)
	case KindSnooze:
		out, err = h.snooze(ctx, userID, cmd.Index[0], cmd.Arg, now)
	case KindProgress:
		out, err = h.progress(ctx, cmd.Arg, now)
	}
	if err != nil {
		if msg, handled := h.crmFailure(ctx, cmd.Kind, err); handled {
			return domain.Reply{Text: msg, Markdown: true}, true, nil
		}
		return domain.Reply{}, true, err
	}
	return domain.Reply{Text: out, Markdown: true}, true, nil
}

// crmError marks an error that came from the CRM (as opposed to the store).
type crmError struct{ err error }

func (e crmError) Error() string { return e.err.Error() }
func (e crmError) Unwrap() error { return e.err }

func fromCRM(err error) error {
	if err == nil {
		return nil
	}
	return crmError{err}
}

// crmFailure turns a CRM error into a message for the rep; store errors are
// not handled (the worker retries the message).
func (h *Handler) crmFailure(ctx context.Context, kind Kind, err error) (string, bool) {
	var ce crmError
	if !errors.As(err, &ce) {
		return "", false
	}
	h.cfg.Logger.WarnContext(ctx, "staff: CRM call failed", "command", int(kind), "err", err)
	switch {
	case errors.Is(err, domain.ErrConfig):
		return msgConfig, true
	case errors.Is(err, domain.ErrInvalid):
		return "CRM 拒绝了这个请求（输入无效）。", true
	default:
		return msgOutage, true
	}
}

func outage(err error) bool {
	return err != nil && (errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrRateLimited) ||
		errors.Is(err, context.DeadlineExceeded))
}

// --- lists ---

// listItem is one entry of a list shown to a rep.
type listItem struct {
	ID   string      `json:"id"`
	Task domain.Task `json:"task,omitzero"`
}

type savedList struct {
	Items []listItem `json:"items"`
}

func (h *Handler) saveList(ctx context.Context, key string, items []listItem) error {
	b, err := json.Marshal(savedList{Items: items})
	if err != nil {
		return err
	}
	for range 5 {
		v := int64(0)
		if rec, err := h.cfg.State.Get(ctx, key); err == nil {
			v = rec.Version
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("staff: read list: %w", err)
		}
		if _, err := h.cfg.State.Put(ctx, key, b, v, h.cfg.ListTTL); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("staff: save list: %w", err)
		}
	}
	return fmt.Errorf("staff: save list: %w", store.ErrConflict)
}

func (h *Handler) loadList(ctx context.Context, key string) ([]listItem, error) {
	rec, err := h.cfg.State.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("staff: read list: %w", err)
	}
	var l savedList
	if err := json.Unmarshal(rec.Value, &l); err != nil {
		return nil, nil // unreadable: as if none
	}
	return l.Items, nil
}

func tasksKey(userID string) string   { return "staff:tasks:" + userID }
func clientsKey(userID string) string { return "staff:clients:" + userID }

// --- pending writes ---

// pendingOp is a CRM write kept while the CRM is down.
type pendingOp struct {
	Op     string      `json:"op"` // create | complete | snooze
	Task   domain.Task `json:"task,omitzero"`
	TaskID string      `json:"task_id,omitempty"` // complete: the task; snooze: the old task
}

func (h *Handler) keep(ctx context.Context, id string, op pendingOp, now time.Time) error {
	b, err := json.Marshal(op)
	if err != nil {
		return err
	}
	if err := h.cfg.State.Add(ctx, store.Item{Topic: PendingTopic, ID: id, Payload: b, Due: now.Add(time.Minute)}); err != nil {
		return fmt.Errorf("staff: keep pending %s: %w", op.Op, err)
	}
	return nil
}

// apply performs a pending write against the CRM.
func apply(ctx context.Context, c crm.CRM, op pendingOp) (domain.Task, error) {
	switch op.Op {
	case "create":
		return c.CreateTask(ctx, op.Task)
	case "complete":
		err := c.CompleteTask(ctx, op.TaskID)
		if errors.Is(err, domain.ErrNotFound) {
			err = nil // already gone
		}
		return domain.Task{}, err
	case "snooze":
		t, err := c.CreateTask(ctx, op.Task)
		if err != nil {
			return t, err
		}
		if err := c.CompleteTask(ctx, op.TaskID); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return t, err
		}
		return t, nil
	}
	return domain.Task{}, fmt.Errorf("staff: unknown pending op %q: %w", op.Op, domain.ErrInvalid)
}

func hashKey(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// --- commands ---

func (h *Handler) owner(ctx context.Context, userID string) (string, error) {
	id, err := h.cfg.Owners.OwnerID(ctx, userID)
	if err != nil {
		return "", fromCRM(err)
	}
	return id, nil
}

func (h *Handler) tasks(ctx context.Context, userID string, now time.Time) (string, error) {
	owner, err := h.owner(ctx, userID)
	if err != nil || owner == "" {
		return msgNoOwner, err
	}
	ts, err := h.cfg.CRM.ListTasks(ctx, crm.TaskQuery{OwnerID: owner, Limit: 20})
	if err != nil {
		return "", fromCRM(err)
	}
	if len(ts) == 0 {
		return "你没有未完成的任务。\n" + msgRemindEx, h.saveList(ctx, tasksKey(userID), nil)
	}
	items := make([]listItem, 0, len(ts))
	var b strings.Builder
	fmt.Fprintf(&b, "**我的任务**（%d 条）\n", len(ts))
	for i, t := range ts {
		items = append(items, listItem{ID: t.ID, Task: t})
		mark := ""
		if t.Due.Before(now) {
			mark = `<font color="warning">[逾期]</font> `
		}
		fmt.Fprintf(&b, "%d. %s%s %s\n", i+1, mark, formatDue(t.Due, now, h.cfg.Location), t.Subject)
	}
	b.WriteString("\n回复「完成 1」完成，「推迟 1 明天上午」推迟。")
	return b.String(), h.saveList(ctx, tasksKey(userID), items)
}

func (h *Handler) remind(ctx context.Context, userID, arg string, now time.Time) (string, error) {
	due, subject, ok := splitWhen(arg, now, h.cfg.Location)
	if !ok {
		return "没看懂提醒的时间。\n" + msgRemindEx, nil
	}
	if subject == "" {
		return "要提醒什么事？\n" + msgRemindEx, nil
	}
	if !due.After(now) {
		return fmt.Sprintf("这个时间（%s）已经过去了，请给一个将来的时间。", formatDue(due, now, h.cfg.Location)), nil
	}
	owner, err := h.owner(ctx, userID)
	if err != nil || owner == "" {
		return msgNoOwner, err
	}
	task := domain.Task{
		Key: "staff:" + hashKey(userID, subject, strconv.FormatInt(due.Unix(), 10)), OwnerID: owner, OwnerUserID: userID,
		Subject: subject, Due: due,
	}
	linked, note := h.linkContact(ctx, subject)
	task.ContactID = linked.ID
	created, err := h.cfg.CRM.CreateTask(ctx, task)
	if outage(err) {
		if err := h.keep(ctx, task.Key, pendingOp{Op: "create", Task: task}, now); err != nil {
			return "", err
		}
		return fmt.Sprintf("CRM 暂时无法访问，任务已记下，恢复后会自动创建：%s（%s）。", subject, formatDue(due, now, h.cfg.Location)), nil
	}
	if err != nil {
		return "", fromCRM(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "已创建任务：**%s**\n截止：%s", created.Subject, formatDue(due, now, h.cfg.Location))
	if linked.ID != "" {
		fmt.Fprintf(&b, "\n客户：%s", contactLabel(linked))
	}
	if note != "" {
		b.WriteString("\n" + note)
	}
	return b.String(), nil
}

func (h *Handler) complete(ctx context.Context, userID string, idx []int, now time.Time) (string, error) {
	items, err := h.loadList(ctx, tasksKey(userID))
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return msgNoList, nil
	}
	var lines []string
	for _, n := range idx {
		if n > len(items) {
			lines = append(lines, fmt.Sprintf("第 %d 条不存在（列表共 %d 条）。", n, len(items)))
			continue
		}
		it := items[n-1]
		err := h.cfg.CRM.CompleteTask(ctx, it.ID)
		switch {
		case err == nil:
			lines = append(lines, fmt.Sprintf("✅ 已完成：%s", it.Task.Subject))
		case errors.Is(err, domain.ErrNotFound):
			lines = append(lines, fmt.Sprintf("第 %d 条已经完成或已删除：%s", n, it.Task.Subject))
		case outage(err):
			if err := h.keep(ctx, "complete:"+it.ID, pendingOp{Op: "complete", TaskID: it.ID}, now); err != nil {
				return "", err
			}
			lines = append(lines, fmt.Sprintf("CRM 暂时无法访问，已记下，恢复后自动完成：%s", it.Task.Subject))
		default:
			return "", fromCRM(err)
		}
	}
	return strings.Join(lines, "\n"), nil
}

func (h *Handler) snooze(ctx context.Context, userID string, n int, arg string, now time.Time) (string, error) {
	items, err := h.loadList(ctx, tasksKey(userID))
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return msgNoList, nil
	}
	if n > len(items) {
		return fmt.Sprintf("第 %d 条不存在（列表共 %d 条）。", n, len(items)), nil
	}
	it := items[n-1]
	var due time.Time
	if strings.TrimSpace(arg) == "" {
		due = it.Task.Due.AddDate(0, 0, 1)
		for !due.After(now) {
			due = due.AddDate(0, 0, 1)
		}
	} else {
		d, _, ok := splitWhen(arg, now, h.cfg.Location)
		if !ok {
			return "没看懂推迟到什么时候。示例：推迟 1 明天上午", nil
		}
		due = d
	}
	if !due.After(now) {
		return fmt.Sprintf("这个时间（%s）已经过去了，请给一个将来的时间。", formatDue(due, now, h.cfg.Location)), nil
	}
	nt := it.Task
	nt.ID, nt.Done, nt.Due = "", false, due
	nt.Key = "snooze:" + it.ID + ":" + strconv.FormatInt(due.Unix(), 10)
	op := pendingOp{Op: "snooze", Task: nt, TaskID: it.ID}
	created, err := apply(ctx, h.cfg.CRM, op)
	if outage(err) {
		if err := h.keep(ctx, nt.Key, op, now); err != nil {
			return "", err
		}
		return fmt.Sprintf("CRM 暂时无法访问，已记下，恢复后自动推迟：%s → %s", it.Task.Subject, formatDue(due, now, h.cfg.Location)), nil
	}
	if err != nil {
		return "", fromCRM(err)
	}
	items[n-1] = listItem{ID: created.ID, Task: created}
	if err := h.saveList(ctx, tasksKey(userID), items); err != nil {
		return "", err
	}
	return fmt.Sprintf("⏰ 已推迟：%s → %s", it.Task.Subject, formatDue(due, now, h.cfg.Location)), nil
}
