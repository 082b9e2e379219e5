package report

import "testing"

// Markdown output never prints HTML entities: text read as Markdown source
// (chat channels, .md files, code spans) would show "&gt;" literally.
func TestMarkdownEscapesWithoutEntities(t *testing.T) {
	for in, want := range map[string]string{
		"error ratio > 50 % for 15m": "error ratio > 50 % for 15m",
		"rows < 1000":                "rows < 1000",
		"<script>x</script>":         `\<script>x\</script>`,
		"> quoted":                   `\> quoted`,
		"a|b\nc":                     `a\|b c`,
	} {
		if got := md(in); got != want {
			t.Errorf("md(%q) = %q, want %q", in, got, want)
		}
	}
}
