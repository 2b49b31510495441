// Package sqsq carries queue.Message over Amazon SQS: a Publisher for the
// callback function, MessageFromRecord for the Lambda SQS trigger (used by
// the platform package) and a long-polling Consumer for non-Lambda runs and
// tests.
//
// # Wire format
//
// One queue.Message is one SQS message:
//
//   - MessageBody is msg.Body as a string when it is text SQS accepts (valid
//     UTF-8 of the characters #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD,
//     #x10000-#x10FFFF). Otherwise it is the standard base64 encoding of
//     Body and the message attribute body_encoding is "base64". An empty
//     Body (SQS rejects empty bodies) travels as "-" with body_encoding
//     "empty".
//   - The String message attribute dedupe_id carries msg.ID (omitted when
//     ID is empty), and every non-empty entry of msg.Attributes travels as
//     a String message attribute of the same name. SQS allows 10 attributes
//     per message, so at most 8 entries of msg.Attributes fit; names must
//     be valid SQS attribute names, and dedupe_id and body_encoding are
//     reserved. Empty values are dropped (SQS rejects them).
//   - On FIFO queues (URL ending in ".fifo") MessageDeduplicationId is
//     msg.ID (its SHA-256 in hex if ID is longer than 128 characters or has
//     characters SQS does not allow there), and MessageGroupId is the
//     group_id attribute when present, else msg.ID (no ordering between
//     messages). FIFO queues require a non-empty ID.
//
// MessageFromRecord reverses this, so that a message published here arrives
// unchanged whether a Consumer or the Lambda trigger receives it.
//
// # Errors
//
// SQS errors are translated at this boundary: throttling becomes
// domain.ErrRateLimited; a missing queue, denied access or KMS trouble
// domain.ErrConfig; rejected contents domain.ErrInvalid; network failures,
// timeouts and 5xx answers domain.ErrUnavailable.
package sqsq
