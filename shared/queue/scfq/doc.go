// Package scfq is the Tencent Cloud queue engine: a queue.Publisher that
// hands each message to the worker function through an asynchronous SCF
// Invoke (InvocationType "Event"). The worker receives the event
// {"queueMessage": msg} (queue.Envelope), which platform.Start routes to its
// queue handler; SCF's async retry policy and dead-letter configuration
// provide redelivery.
//
// Requests are signed with TC3-HMAC-SHA256 by tencentcloud-sdk-go using the
// function role's temporary credentials from TENCENTCLOUD_SECRETID,
// TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN, read at each Publish
// because SCF refreshes them in the environment of a warm instance.
package scfq
