// Package zhdate parses the date and time expressions customers type when
// booking an appointment, in Chinese ("明天下午三点", "周五上午", "下周一",
// "11月30日 14:00", "后天10点半", "今晚8点") and simple English
// ("tomorrow 3pm", "next monday 10:30"). It is pure logic with no I/O.
package zhdate
