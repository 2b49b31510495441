package wecom

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// ExternalContact is a customer as seen through 客户联系
// (GET /cgi-bin/externalcontact/get), with every member who follows them.
type ExternalContact struct {
	ExternalUserID  string          `json:"external_userid"`
	Name            string          `json:"name"`
	Avatar          string          `json:"avatar,omitempty"`
	Type            int             `json:"type"` // 1 WeChat user, 2 WeCom user
	Gender          int             `json:"gender,omitempty"`
	UnionID         string          `json:"unionid,omitempty"`
	Position        string          `json:"position,omitempty"`
	CorpName        string          `json:"corp_name,omitempty"`
	CorpFullName    string          `json:"corp_full_name,omitempty"`
	ExternalProfile json.RawMessage `json:"external_profile,omitempty"`
	FollowUsers     []FollowUser    `json:"-"`
}

// FollowUser is a member's relationship with an external contact.
type FollowUser struct {
	UserID         string   `json:"userid"`
	Remark         string   `json:"remark,omitempty"`
	Description    string   `json:"description,omitempty"`
	CreateTime     int64    `json:"createtime"` // unix seconds the member added the customer
	Tags           []Tag    `json:"tags,omitempty"`
	RemarkCorpName string   `json:"remark_corp_name,omitempty"`
	RemarkMobiles  []string `json:"remark_mobiles,omitempty"`
	OperUserID     string   `json:"oper_userid,omitempty"`
	AddWay         int      `json:"add_way,omitempty"`
	State          string   `json:"state,omitempty"` // 「联系我」 channel state
}

// Tag is a customer tag; Type 1 is a corp tag, 2 a personal tag.
type Tag struct {
	GroupName string `json:"group_name,omitempty"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id,omitempty"`
	Type      int    `json:"type"`
}

// maxFollowPages bounds the follow_user pages fetched for one contact.
const maxFollowPages = 20

// GetExternalContact fetches an external contact and all follow_user pages.
// 40096 (unknown external_userid) matches domain.ErrInvalid.
func (c *Client) GetExternalContact(ctx context.Context, externalUserID string) (ExternalContact, error) {
	if externalUserID == "" {
		return ExternalContact{}, invalid("externalcontact/get needs external_userid")
	}
	var out ExternalContact
	cursor := ""
	for page := 0; page < maxFollowPages; page++ {
		q := url.Values{"external_userid": {externalUserID}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var r struct {
			ExternalContact ExternalContact `json:"external_contact"`
			FollowUser      []FollowUser    `json:"follow_user"`
			NextCursor      string          `json:"next_cursor"`
		}
		if err := c.call(ctx, http.MethodGet, "/cgi-bin/externalcontact/get", q, nil, &r); err != nil {
			return ExternalContact{}, err
		}
		if page == 0 {
			out = r.ExternalContact
		}
		out.FollowUsers = append(out.FollowUsers, r.FollowUser...)
		if r.NextCursor == "" || r.NextCursor == cursor {
			break
		}
		cursor = r.NextCursor
	}
	return out, nil
}

// SendWelcomeMsg sends a text welcome message with the welcome_code of an
// add_external_contact event (POST /cgi-bin/externalcontact/send_welcome_msg).
// The code is valid for 20 s; 41051 (chat already started) matches
// ErrChatStarted and is not retried.
func (c *Client) SendWelcomeMsg(ctx context.Context, welcomeCode, text string) error {
	if welcomeCode == "" || text == "" {
		return invalid("send_welcome_msg needs welcome_code and text")
	}
	if len(text) > 4000 {
		return invalid("welcome text over 4000 bytes")
	}
	req := struct {
		WelcomeCode string  `json:"welcome_code"`
		Text        content `json:"text"`
	}{welcomeCode, content{text}}
	return c.call(ctx, http.MethodPost, "/cgi-bin/externalcontact/send_welcome_msg", nil, req, nil)
}
