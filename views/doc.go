// Package views renders Gatehouse's pages and htmx fragments with templ.
//
// Conventions:
//   - Every page is a full document from Layout; a list's results live in a
//     component of their own (e.g. ScopeList) that a handler renders alone
//     when htmx asks for that target (HX-Request with HX-Target "results").
//   - Forms are plain POST forms that work without JavaScript: success
//     redirects (303), bad input re-renders the form with status 422 and the
//     message next to each field. htmx 2 is configured (meta htmx-config in
//     Layout) to swap 422 responses too, so the same markup serves both.
//   - No inline scripts or styles (the CSP forbids them); behaviour lives in
//     static/js/app.js and is declared with data- attributes.
//   - Tests find elements by data-testid, role and label.
package views
