// Package sentiment scores the tone of a short customer message from -1
// (very negative) to +1 (very positive) with a built-in Chinese and English
// lexicon, negation (不/没/别), intensifiers (很/非常/太), repeated
// punctuation (!!, ？？) and emoji. It is pure logic with no I/O.
package sentiment
