//go:build !unix

package tail

import "io/fs"

// identOf has no inode outside Unix: files are told apart by their head
// fingerprint only, so rename rotation is followed by path.
func identOf(fs.FileInfo) (ident, bool) { return ident{}, false }
