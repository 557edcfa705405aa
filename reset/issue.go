package reset

import (
	"context"
	"fmt"
	"time"
)

// IssueLink creates a link for the account with address email right away, bypassing the
// queue and the limits: for operators (`resetgate send-link`). With send, it also mails it.
func (s *Service) IssueLink(ctx context.Context, email string, send bool) (string, User, error) {
	addr, err := s.LookupKey(email)
	if err != nil {
		return "", User{}, err
	}
	u, err := s.users.FindUser(ctx, addr)
	if err != nil {
		return "", User{}, err
	}
	link, msg, err := s.issue(ctx, u, "operator", "")
	if err != nil {
		return "", User{}, err
	}
	outcome := "printed"
	if send {
		if err := s.mailer.Send(ctx, msg); err != nil {
			return "", User{}, err
		}
		outcome = "sent"
	}
	s.audit(ctx, AuditEvent{Event: AuditRequested, Outcome: outcome, UserID: u.ID, Email: u.Email, Actor: "operator"})
	return link, u, nil
}

// issue creates and stores a token for u and renders the mail that carries it, in u's own
// language or else lang (see mailLanguage).
func (s *Service) issue(ctx context.Context, u User, clientIP, lang string) (string, Message, error) {
	tun := s.tune()
	raw, id := NewToken()
	now := s.now()
	code, codeID, err := s.drawCode(ctx, u.Email)
	if err != nil {
		return "", Message{}, err
	}
	t := Token{ID: id, UserID: u.ID, Email: u.Email, Fingerprint: Fingerprint(u.PasswordHash, u.Email), IssuedAt: now, ExpiresAt: now.Add(tun.TokenTTL), CodeID: codeID}
	if err := s.store.SaveToken(ctx, t); err != nil {
		return "", Message{}, fmt.Errorf("save token: %w", err)
	}
	link := s.Link(raw)
	d := s.mailData(tun, u, lang, clientIP, now, link)
	if code != "" {
		d.Code, d.CodeURL = GroupCode(code), s.o.PublicURL+s.o.Prefix+"/code"
	}
	msg, err := tun.Mail.render("reset", u.Email, d)
	if err != nil {
		return "", Message{}, err
	}
	msg.Link = link
	return link, msg, nil
}

// mailData is what a mail to u shows, in u's own language or else lang.
func (s *Service) mailData(tun *Tunables, u User, lang, clientIP string, at time.Time, link string) MailData {
	l := tun.Mail.language(u, lang)
	return MailData{L: l, Site: s.o.Site, Brand: s.o.Brand, Logo: s.o.LogoURL, Accent: s.o.AccentColor, Name: u.Name, Email: u.Email, Link: link, ResetURL: s.RequestURL(),
		Valid: l.Duration(tun.TokenTTL), IP: clientIP, Time: l.Time(at),
		SessionsEnded: s.o.Sessions != nil}
}
