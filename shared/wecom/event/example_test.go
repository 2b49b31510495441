package event_test

import (
	"fmt"

	"wecom-crm-bot/shared/wecom/event"
)

func ExampleParse() {
	m, err := event.Parse([]byte(`<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName>` +
		`<CreateTime>1348831860</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
		`<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCApHxn]]></Token>` +
		`<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>`))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Kind(), m.OpenKfID, m.Token)
	// Output: kf wkxxxxxxx ENCApHxn
}
