// Package llm answers customer questions with an OpenAI-compatible chat
// completions API, strictly from passages the bot retrieved. It satisfies
// the bot's Answerer port and is off unless configured (LLM_BASE_URL,
// LLM_MODEL, LLM_API_KEY).
package llm
