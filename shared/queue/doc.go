// Package queue defines the message contract between the fast callback
// function and the slow worker. Engines live in sub-packages: memq
// (in-process), sqsq (Amazon SQS) and scfq (Tencent SCF async invocation).
package queue
