package wecom

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// AppMessage is an active message from a self-built app
// (POST /cgi-bin/message/send). Set exactly one of Text, Markdown,
// TemplateCard (raw JSON of the template_card object) or TextNotice; MsgType
// is derived from which one is set.
type AppMessage struct {
	AgentID int64
	ToUser  []string // member userids, or "@all"
	ToParty []string
	ToTag   []string

	Text         string
	Markdown     string
	TemplateCard json.RawMessage
	TextNotice   *TextNoticeCard

	Safe                   bool
	EnableIDTrans          bool
	EnableDuplicateCheck   bool
	DuplicateCheckInterval int // seconds; WeCom's default is 1800
}

// TextNoticeCard is a template_card of card_type text_notice. CardAction is
// required by WeCom.
type TextNoticeCard struct {
	Source                *CardSource    `json:"source,omitempty"`
	MainTitle             CardTitle      `json:"main_title"`
	EmphasisContent       *CardTitle     `json:"emphasis_content,omitempty"`
	SubTitleText          string         `json:"sub_title_text,omitempty"`
	HorizontalContentList []CardKeyValue `json:"horizontal_content_list,omitempty"`
	JumpList              []CardJump     `json:"jump_list,omitempty"`
	CardAction            CardAction     `json:"card_action"`
	TaskID                string         `json:"task_id,omitempty"`
}

// CardSource is the small source line at the top of a card.
type CardSource struct {
	IconURL   string `json:"icon_url,omitempty"`
	Desc      string `json:"desc,omitempty"`
	DescColor int    `json:"desc_color,omitempty"`
}

// CardTitle is a title with an optional description.
type CardTitle struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

// CardKeyValue is one line of a card's horizontal content list; Type 1 makes
// it a link to URL.
type CardKeyValue struct {
	Type    int    `json:"type,omitempty"`
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
	URL     string `json:"url,omitempty"`
}

// CardJump is a jump link under a card; Type 1 is a URL, 2 a mini program.
type CardJump struct {
	Type     int    `json:"type,omitempty"`
	Title    string `json:"title"`
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// CardAction is what tapping the card does; Type 1 opens URL, 2 a mini program.
type CardAction struct {
	Type     int    `json:"type"`
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// AppSendResult lists the recipients WeCom could not deliver to.
type AppSendResult struct {
	InvalidUser    []string
	InvalidParty   []string
	InvalidTag     []string
	UnlicensedUser []string
	MsgID          string
	ResponseCode   string // for updating interactive cards
}

type appMessageWire struct {
	ToUser                 string          `json:"touser,omitempty"`
	ToParty                string          `json:"toparty,omitempty"`
	ToTag                  string          `json:"totag,omitempty"`
	MsgType                string          `json:"msgtype"`
	AgentID                int64           `json:"agentid"`
	Text                   *content        `json:"text,omitempty"`
	Markdown               *content        `json:"markdown,omitempty"`
	TemplateCard           json.RawMessage `json:"template_card,omitempty"`
	Safe                   int             `json:"safe,omitempty"`
	EnableIDTrans          int             `json:"enable_id_trans,omitempty"`
	EnableDuplicateCheck   int             `json:"enable_duplicate_check,omitempty"`
	DuplicateCheckInterval int             `json:"duplicate_check_interval,omitempty"`
}

type content struct {
	Content string `json:"content"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m AppMessage) wire() (appMessageWire, error) {
	w := appMessageWire{
		ToUser: strings.Join(m.ToUser, "|"), ToParty: strings.Join(m.ToParty, "|"), ToTag: strings.Join(m.ToTag, "|"),
		AgentID: m.AgentID, Safe: b2i(m.Safe), EnableIDTrans: b2i(m.EnableIDTrans),
		EnableDuplicateCheck: b2i(m.EnableDuplicateCheck), DuplicateCheckInterval: m.DuplicateCheckInterval,
	}
	if w.ToUser == "" && w.ToParty == "" && w.ToTag == "" {
		return w, invalid("app message without recipients")
	}
	if m.AgentID <= 0 {
		return w, invalid("app message without agentid")
	}
	set := 0
	if m.Text != "" {
		set++
		w.MsgType, w.Text = "text", &content{m.Text}
	}
	if m.Markdown != "" {
		set++
		w.MsgType, w.Markdown = "markdown", &content{m.Markdown}
	}
	if len(m.TemplateCard) > 0 {
		set++
		if !json.Valid(m.TemplateCard) {
			return w, invalid("template_card is not valid JSON")
		}
		w.MsgType, w.TemplateCard = "template_card", m.TemplateCard
	}
	if m.TextNotice != nil {
		set++
		card := struct {
			CardType string `json:"card_type"`
			*TextNoticeCard
		}{"text_notice", m.TextNotice}
		b, err := json.Marshal(card)
		if err != nil {
			return w, fmt.Errorf("wecom: encode text_notice card: %w", err)
		}
		w.MsgType, w.TemplateCard = "template_card", b
	}
	if set != 1 {
		return w, invalid(fmt.Sprintf("app message needs exactly one body, has %d", set))
	}
	return w, nil
}

// SendAppMessage sends an app message and returns the recipients WeCom
// rejected. Errors match domain.ErrInvalid for a malformed message.
func (c *Client) SendAppMessage(ctx context.Context, m AppMessage) (AppSendResult, error) {
	w, err := m.wire()
	if err != nil {
		return AppSendResult{}, err
	}
	var r struct {
		InvalidUser    string `json:"invaliduser"`
		InvalidParty   string `json:"invalidparty"`
		InvalidTag     string `json:"invalidtag"`
		UnlicensedUser string `json:"unlicenseduser"`
		MsgID          string `json:"msgid"`
		ResponseCode   string `json:"response_code"`
	}
	if err := c.call(ctx, http.MethodPost, "/cgi-bin/message/send", nil, w, &r); err != nil {
		return AppSendResult{}, err
	}
	return AppSendResult{
		InvalidUser: splitIDs(r.InvalidUser), InvalidParty: splitIDs(r.InvalidParty),
		InvalidTag: splitIDs(r.InvalidTag), UnlicensedUser: splitIDs(r.UnlicensedUser),
		MsgID: r.MsgID, ResponseCode: r.ResponseCode,
	}, nil
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
