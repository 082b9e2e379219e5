package email

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

const (
	password  = "smtp-PASSWORD-s3cret"
	recipient = "oncall.person@example.com"
)

// smtpServer is a small in-test SMTP server: EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT, with scripted failure replies.
type smtpServer struct {
	t        *testing.T
	l        net.Listener
	tls      *tls.Config
	implicit bool
	// replies override the reply to a command verb ("MAIL", "RCPT", "AUTH").
	replies map[string]string

	mu       sync.Mutex
	messages []string
	authed   []string
	wg       sync.WaitGroup
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

func startSMTP(t *testing.T, implicit bool, replies map[string]string) (*smtpServer, *x509.CertPool) {
	t.Helper()
	srvTLS, pool := selfSigned(t)
	var (
		l   net.Listener
		err error
	)
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, l: l, tls: srvTLS, implicit: implicit, replies: replies}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { _ = l.Close(); s.wg.Wait() })
	return s, pool
}

func (s *smtpServer) port() int { return s.l.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

func (s *smtpServer) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	secure := s.implicit
	reply("220 127.0.0.1 ESMTP test")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		if rep, ok := s.replies[verb]; ok {
			reply(rep)
			continue
		}
		switch verb {
		case "EHLO", "HELO":
			caps := []string{"250-127.0.0.1", "250-8BITMIME", "250-SIZE 10485760"}
			if !secure {
				caps = append(caps, "250-STARTTLS")
			}
			caps = append(caps, "250-AUTH PLAIN", "250 SMTPUTF8")
			_, _ = w.WriteString(strings.Join(caps, "\r\n") + "\r\n")
			_ = w.Flush()
		case "STARTTLS":
			reply("220 2.0.0 ready")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case "AUTH":
			f := strings.Fields(line)
			if !secure || len(f) < 3 || f[1] != "PLAIN" {
				reply("504 5.5.4 unsupported")
				continue
			}
			b, _ := base64.StdEncoding.DecodeString(f[2])
			parts := strings.Split(string(b), "\x00")
			if len(parts) != 3 || parts[2] != password {
				reply("535 5.7.8 authentication failed")
				continue
			}
			s.mu.Lock()
			s.authed = append(s.authed, parts[1])
			s.mu.Unlock()
			reply("235 2.7.0 ok")
		case "MAIL", "RCPT", "RSET", "NOOP":
			reply("250 2.0.0 ok")
		case "DATA":
			reply("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.messages = append(s.messages, b.String())
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 unknown command")
		}
	}
}

func newEmail(t *testing.T, port int, tlsMode string, pool *x509.CertPool) *Notifier {
	t.Helper()
	n, err := New(Config{Host: "127.0.0.1", Port: port, TLS: tlsMode, Username: "sfmcwatch", Password: password,
		From: "sfmcwatch@example.com", To: []string{recipient}, SubjectPrefix: "[sfmcwatch]", Timeout: config.Duration(5 * time.Second)},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sample() *notify.Message {
	m := notify.SampleMessage("ops", "https://sfmcwatch.example.com", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	m.Kind = notify.KindAlert
	m.Alerts[0].Link = "https://sfmcwatch.example.com/incidents/3"
	return m
}

// parts returns the text/plain and text/html bodies of a MIME message.
func parts(t *testing.T, raw string) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text, html string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return msg, text, html
}

func TestSendSTARTTLSAndImplicitTLS(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run("implicit="+strconv.FormatBool(implicit), func(t *testing.T) {
			srv, pool := startSMTP(t, implicit, nil)
			mode := "starttls"
			if implicit {
				mode = "tls"
			}
			if err := newEmail(t, srv.port(), mode, pool).Notify(t.Context(), sample()); err != nil {
				t.Fatal(err)
			}
			if len(srv.messages) != 1 || len(srv.authed) != 1 || srv.authed[0] != "sfmcwatch" {
				t.Fatalf("messages %d, auth %v", len(srv.messages), srv.authed)
			}
			msg, text, html := parts(t, srv.messages[0])
			dec := new(mime.WordDecoder)
			subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
			if !strings.HasPrefix(subject, "[sfmcwatch] [FIRING:1] example · auth · marketing_ops") {
				t.Errorf("subject %q", subject)
			}
			if msg.Header.Get("To") != "<"+recipient+">" || !strings.HasSuffix(msg.Header.Get("Message-Id"), "@example.com>") || msg.Header.Get("User-Agent") != fit.UserAgent() {
				t.Errorf("headers %v", msg.Header)
			}
			for _, want := range []string{"Why it matters", "What we see: Sample: 36 token requests", "Fix:", "failing for 3h", "marketing_ops", "https://sfmcwatch.example.com/incidents/3"} {
				if !strings.Contains(text, want) {
					t.Errorf("text part lacks %q", want)
				}
			}
			for _, want := range []string{`<a href="https://sfmcwatch.example.com/incidents/3">`, "Why it matters:", "<strong>What we see:</strong> Sample: 36 token requests", "<ol", "Failing for 3h"} {
				if !strings.Contains(html, want) {
					t.Errorf("html part lacks %q:\n%s", want, html)
				}
			}
		})
	}
}

// The shared expectations for e-mail: which SMTP replies retry, and that
// errors never carry the password or the recipients' addresses.
func TestFailuresRetryVerdictAndNoSecrets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies map[string]string
		retry   bool
	}{
		{"auth rejected", map[string]string{"AUTH": "535 5.7.8 authentication failed for " + password}, false},
		{"recipient rejected", map[string]string{"RCPT": "550 5.1.1 <" + recipient + ">: user unknown"}, false},
		{"greylisted", map[string]string{"RCPT": "451 4.7.1 <" + recipient + ">: try again later"}, true},
		{"sender temp failure", map[string]string{"MAIL": "421 4.3.0 service not available"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, pool := startSMTP(t, false, tc.replies)
			err := newEmail(t, srv.port(), "starttls", pool).Notify(t.Context(), sample())
			if err == nil {
				t.Fatal("no error")
			}
			if notify.IsRetryable(err) != tc.retry {
				t.Fatalf("retryable = %v, want %v: %v", notify.IsRetryable(err), tc.retry, err)
			}
			for _, secret := range []string{password, recipient, "oncall.person"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks %q: %v", secret, err)
				}
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		err := newEmail(t, port, "starttls", nil).Notify(t.Context(), sample())
		if err == nil || !notify.IsRetryable(err) || strings.Contains(err.Error(), password) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestValidate(t *testing.T) {
	_, err := New(Config{Host: "smtp.example.com", TLS: "none", From: "x", To: []string{"not-an-address"}, Timeout: config.Duration(time.Second)}, nil)
	for _, want := range []string{"tls: none is allowed for loopback", "from: want an e-mail address", "to[0]: not an e-mail address"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "not-an-address") {
		t.Errorf("error echoes an address: %v", err)
	}
}

func TestReportUsesItsHTML(t *testing.T) {
	srv, pool := startSMTP(t, false, nil)
	m := &notify.Message{Kind: notify.KindReport, Key: "report|ops|w10", Receiver: "ops",
		Report: &notify.Report{Subject: "Weekly SFMC digest", Text: "plain digest", HTML: "<h1>digest</h1>"}}
	if err := newEmail(t, srv.port(), "starttls", pool).Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	_, text, html := parts(t, srv.messages[0])
	if strings.TrimSpace(text) != "plain digest" || strings.TrimSpace(html) != "<h1>digest</h1>" {
		t.Fatalf("text %q html %q", text, html)
	}
}
