// Package bot is the conversation brain of wecom-crm-bot: given one customer
// message and the conversation so far, it decides what to reply, which
// multi-turn flow to continue (order status, appointment booking), when to
// hand the conversation to a person, and how satisfied the customer was.
//
// It is pure logic. Knowledge (rules, FAQ, synonyms, hours, thresholds,
// texts) is loaded from YAML (ParseKnowledge, DefaultKnowledge) and can be
// versioned and hot-reloaded through KnowledgeSource. Everything the bot
// needs from outside — order look-up, booking, an optional LLM — comes in
// through the small ports in Ports, which the worker satisfies.
//
// FAQ retrieval is BM25 over character unigrams and bigrams for Han text
// and words for Latin text, after normalisation (full-width to half-width,
// traditional to simplified, lower case, punctuation stripped, synonyms).
// The conversation state the bot needs between turns lives in
// Conversation.BotState, so the bot itself is stateless.
package bot
