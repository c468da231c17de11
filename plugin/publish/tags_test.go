package publish

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"qwen-turbo":            "qwen-turbo",
		"a|b\nc\x00d\x7f":       "a_b_c_d_",
		"gpt-\xff\xfe-4o\xc3":   "gpt-_-4o_",
		strings.Repeat("模", 10): strings.Repeat("模", 5), // 16 bytes: 5 whole runes
		strings.Repeat("x", 20): strings.Repeat("x", 16),
	} {
		got := CleanValue(in, 16)
		if got != want || !utf8.ValidString(got) {
			t.Errorf("CleanValue(%q) = %q, want %q", in, got, want)
		}
	}
	if CleanTag("", 16) != Unknown || CleanTag("\xff", 16) != "_" {
		t.Errorf("tags: %q %q", CleanTag("", 16), CleanTag("\xff", 16))
	}
}

func TestDestinationService(t *testing.T) {
	for _, tc := range [][3]string{
		{"outbound|443||dashscope.aliyuncs.com", "x", "dashscope.aliyuncs.com"},
		{"llm_upstream", "api.openai.com:443", "api.openai.com"},
		{"", "[::1]:8080", "[::1]"},
		{"outbound|443||", "host", "host"},
	} {
		if got := DestinationService(tc[0], tc[1]); got != tc[2] {
			t.Errorf("DestinationService(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
