package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/internal/enginetest"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/localq"
	"wecom-crm-bot/shared/queue/sqsq"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/dynamostore"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/wecom/event"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

// Vector B of wecom-protocol.md §1.8.
const (
	corpID = "ww6a112864f8022910"
	token  = "kz7Yx62CH8SaLN"
	aesKey = "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP"
)

type combo struct {
	name  string
	store func(t *testing.T) store.Store
}

func awsEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	t.Setenv("AWS_REGION", "us-east-1")
}

func stores() []combo {
	return []combo{
		{"bbolt", func(t *testing.T) store.Store {
			st, err := app.OpenStore(t.Context(), "bbolt://"+filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		{"redis", func(t *testing.T) store.Store {
			addr := enginetest.Redis(t)
			st, err := app.OpenStore(t.Context(), "redis://"+addr+"/0?prefix="+url.QueryEscape(t.Name()+":"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		{"dynamodb", func(t *testing.T) store.Store {
			endpoint := enginetest.DynamoDB(t)
			awsEnv(t)
			table := "combo" + fmt.Sprint(time.Now().UnixNano())
			client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: staticCreds{}})
			if err := dynamostore.CreateTable(t.Context(), client, table); err != nil {
				t.Fatal(err)
			}
			st, err := app.OpenStore(t.Context(), "dynamodb://"+table+"?region=us-east-1&endpoint="+url.QueryEscape(endpoint))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	}
}

// consumer runs handler over the queue until ctx ends.
type queueUnderTest struct {
	pub     queue.Publisher
	consume func(ctx context.Context, h queue.Handler) error
}

func localQueue(t *testing.T, st store.Store) queueUnderTest {
	q := localq.New(st, localq.Config{Visibility: 700 * time.Millisecond, Poll: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxAttempts: 10})
	return queueUnderTest{pub: q, consume: q.Run}
}

func sqsQueue(t *testing.T, _ store.Store) queueUnderTest {
	endpoint := enginetest.SQS(t)
	awsEnv(t)
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: staticCreds{}})
	name := fmt.Sprintf("combo-%d", time.Now().UnixNano())
	out, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	url := *out.QueueUrl
	c := sqsq.NewConsumer(client, url, sqsq.WithWaitTime(time.Second))
	return queueUnderTest{pub: sqsq.NewPublisher(client, url), consume: c.Run}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "x", SecretAccessKey: "y"}, nil
}

// postCallback encrypts a text message like WeCom does and posts it.
func postCallback(t *testing.T, c *wxcrypt.Crypter, base string, msgID int) int {
	t.Helper()
	plain := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[user%d]]></FromUserName>"+
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello %d]]></Content>"+
		"<MsgId>%d</MsgId><AgentID>1000002</AgentID></xml>", corpID, msgID, msgID, msgID)
	enc, err := c.Encrypt([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	ts, nonce := "1700000000", fmt.Sprint(msgID)
	q := url.Values{"msg_signature": {c.Signature(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>", corpID, enc)
	resp, err := http.Post(base+"/wecom/default?"+q.Encode(), "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCallbackOnEveryStoreAndQueue runs the callback function on each
// store/queue combination: 20 callbacks each delivered 4 times at once are
// queued once each; a consumer killed mid-batch loses nothing (its
// messages come back and a second consumer handles them).
func TestCallbackOnEveryStoreAndQueue(t *testing.T) {
	queues := []struct {
		name string
		open func(t *testing.T, st store.Store) queueUnderTest
	}{{"localq", localQueue}, {"sqs", sqsQueue}}
	for _, sc := range stores() {
		for _, qc := range queues {
			t.Run(sc.name+"/"+qc.name, func(t *testing.T) {
				st := sc.store(t)
				defer st.Close()
				q := qc.open(t, st)
				h, err := callback.NewHandler([]callback.Channel{{Name: "default", CorpID: corpID, Token: token, EncodingAESKey: aesKey}}, st, q.pub, nil)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				crypter, err := wxcrypt.New(token, aesKey, corpID)
				if err != nil {
					t.Fatal(err)
				}
				const n = 20
				var wg sync.WaitGroup
				for i := range n {
					for range 4 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							if code := postCallback(t, crypter, srv.URL, 5000+i); code != http.StatusOK {
								t.Errorf("callback %d answered %d", i, code)
							}
						}()
					}
				}
				wg.Wait()

				var mu sync.Mutex
				handled := map[string]int{}
				// First consumer dies mid-batch: it takes messages and never finishes them.
				ctx1, kill := context.WithCancel(t.Context())
				took := make(chan struct{}, n)
				go q.consume(ctx1, func(ctx context.Context, m queue.Message) error {
					took <- struct{}{}
					<-ctx.Done()
					return ctx.Err()
				})
				select {
				case <-took:
				case <-time.After(15 * time.Second):
					t.Fatal("first consumer got nothing")
				}
				kill()

				ctx2, stop := context.WithCancel(t.Context())
				defer stop()
				go q.consume(ctx2, func(ctx context.Context, m queue.Message) error {
					env, err := decode(m)
					if err != nil {
						return err
					}
					mu.Lock()
					handled[env.Message.MsgID]++
					mu.Unlock()
					return nil
				})
				deadline := time.Now().Add(30 * time.Second)
				for {
					mu.Lock()
					got := len(handled)
					mu.Unlock()
					if got == n {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("handled %d of %d messages", got, n)
					}
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond)
				mu.Lock()
				defer mu.Unlock()
				for id, c := range handled {
					if c != 1 {
						t.Errorf("message %s handled %d times, want 1", id, c)
					}
				}
			})
		}
	}
}

func decode(m queue.Message) (callback.Envelope, error) {
	var env callback.Envelope
	if err := json.Unmarshal(m.Body, &env); err != nil {
		return env, err
	}
	if env.Message.MsgType != "text" || env.Kind != event.KindAppMessage.String() {
		return env, fmt.Errorf("unexpected envelope %+v", env)
	}
	return env, nil
}
