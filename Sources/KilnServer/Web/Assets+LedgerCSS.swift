// Styles for the ledger pages, built on the site's tokens and components.

extension Assets {
    /// `/static/kiln.css`: the site stylesheet followed by the ledger's additions.
    static let stylesheet = css + "\n" + ledgerCSS + "\n" + studioCSS + "\n" + knowledgeCSS

    /// Field lists, proofs, the lookup forms, kind tags and the verifier's verdict.
    static let ledgerCSS = #"""
        .ledger-top { display: grid; grid-template-columns: minmax(0, 1.2fr) minmax(0, 1fr); gap: 1.25rem; }
        .ledger-top .card { margin-bottom: 1.25rem; }
        .stats.two-up { grid-template-columns: repeat(2, 1fr); margin: .5rem 0 .75rem; }
        .label.spaced { margin-top: .75rem; }
        .hash.full.small { font-size: .78rem; color: var(--muted); }
        .section-title { margin-top: .5rem; }
        .lookup-forms { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 1rem; margin-top: .5rem; }
        .lookup { display: flex; flex-direction: column; gap: .35rem; margin: 0; }
        .lookup label { font-weight: 600; font-size: .92rem; }
        .lookup-row { display: flex; gap: .5rem; }
        .lookup-row input { min-width: 0; }
        .lookup-row .narrow-input { width: 4.5rem; flex-shrink: 0; }
        .tag.ledger-kind { font-family: var(--mono); font-weight: 500; letter-spacing: 0; white-space: nowrap; }
        h1 .tag.ledger-kind, h2 .tag.ledger-kind { font-size: .8rem; vertical-align: .3em; margin-left: .35rem; }
        .tag.ledger-ok { background: var(--ok-soft); color: var(--ok); }
        .tag.ledger-bad { background: var(--bad-soft); color: var(--bad); }
        .tag.ledger-info { background: var(--info-soft); color: var(--info); }
        .tag.ledger-accent { background: var(--accent-soft); color: var(--accent-strong); }
        #ledger-entries td.summary a { color: var(--text); text-decoration: none; }
        #ledger-entries td.summary a:hover { color: var(--accent); text-decoration: underline; }
        #ledger-entries td.when { white-space: nowrap; color: var(--muted); font-size: .9rem; }
        .subject-links { font-size: .95rem; }

        .fields { margin: 0; }
        .fields > div { display: grid; grid-template-columns: 9rem minmax(0, 1fr); gap: 1rem; padding: .55rem 0; border-top: 1px solid var(--line); align-items: baseline; }
        .fields > div:first-child { border-top: 0; }
        .fields dt { font-family: var(--mono); font-size: .85rem; color: var(--muted); }
        .fields dd { margin: 0; min-width: 0; }
        .fields dd .hash.full { margin: 0; }
        .fields a:has(.hash) { text-decoration: none; }
        .payload { border-collapse: collapse; width: 100%; font-size: .92rem; table-layout: fixed; }
        .payload td, .payload th { overflow-wrap: anywhere; }
        .payload th, .payload td { text-align: left; padding: .2rem 0; vertical-align: top; }
        .payload th { font-family: var(--mono); font-weight: 500; font-size: .85rem; color: var(--muted); width: 12.5rem; padding-right: 1rem; }
        .hash.wrap-all { word-break: break-all; }
        .canonical { background: var(--surface-2); border-radius: 8px; padding: .7rem .9rem; font-size: .82rem; word-break: break-all; margin-bottom: .75rem; }
        .audit-path { margin: 0; padding-left: 0; list-style: none; display: flex; flex-direction: column; gap: .3rem; }
        .audit-path li { display: flex; gap: .6rem; align-items: baseline; min-width: 0; }
        .audit-path .muted { font-size: .8rem; min-width: 4.5rem; }
        .audit-path .hash { word-break: break-all; font-size: .8rem; }

        .verify { border-color: var(--accent); }
        .verify-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 1rem; flex-wrap: wrap; }
        .verify-head p { margin: 0; max-width: 70ch; }
        .verify-head .button { flex-shrink: 0; }
        .verify-steps { margin-top: .75rem; }
        .verify-steps:empty { display: none; }
        .verify-steps .check-name { text-transform: none; min-width: 12rem; }
        .verify-steps .check-detail { word-break: break-word; }
        .verify-result { margin: .75rem 0 0; padding: .7rem 1rem; border-radius: 10px; font-weight: 700; border: 1px solid transparent; }
        .verify-result.ok { background: var(--ok-soft); color: var(--ok); border-color: var(--ok); }
        .verify-result.fail { background: var(--bad-soft); color: var(--bad); border-color: var(--bad); }
        .verify-result.ok::before { content: "✓ "; } .verify-result.fail::before { content: "✗ "; }
        .receipt-keep { display: flex; justify-content: space-between; align-items: center; gap: 1rem; flex-wrap: wrap; }
        .receipt-keep p { margin: 0; max-width: 70ch; }
        .receipt-link { margin-left: .25rem; font-size: .85rem; }
        .version-title .actions { margin-top: 0; }

        @media (max-width: 860px) {
          .ledger-top, .lookup-forms { grid-template-columns: 1fr; }
          .fields > div { grid-template-columns: 1fr; gap: .2rem; }
        }
        """#
}
