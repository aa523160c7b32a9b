// Styles of the model pages: Models, the run form and run page with its chart, the evaluation, Chat, and the
// three-step introduction.

extension Assets {
    /// The model pages' part of `/static/kiln.css`.
    static let studioCSS = #"""
        .model-card .model-head, .progress-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 1rem; flex-wrap: wrap; }
        .model-card .actions, .progress-head .actions { margin-top: 0; }
        .facts-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: .5rem; margin: .75rem 0; }
        .facts-grid div { background: var(--surface-2); border-radius: 8px; padding: .45rem .6rem; }
        .facts-grid dt { font-size: .7rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
        .facts-grid dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
        .side-col .facts-grid { grid-template-columns: 1fr 1fr; }

        .layout > .side-col { align-self: stretch; }
        .run-form fieldset { margin-top: 0; margin-bottom: .75rem; }
        .run-form .field { display: flex; flex-direction: column; gap: .25rem; }
        .run-form .field label { font-weight: 600; font-size: .92rem; margin-top: .5rem; }
        .run-form .hint { margin-top: 0; }
        .run-form [aria-invalid="true"] { border-color: var(--bad); outline: 3px solid var(--bad-soft); }
        .estimate .stats.big dd { font-size: 1.25rem; }

        .badge.run-queued, .badge.run-interrupted { background: var(--wait-soft); color: var(--wait); }
        .badge.run-running { background: var(--info-soft); color: var(--info); }
        .badge.run-succeeded { background: var(--ok-soft); color: var(--ok); }
        .badge.run-failed, .badge.run-cancelled { background: var(--bad-soft); color: var(--bad); }
        .progress { height: 10px; border-radius: 999px; background: var(--surface-2); overflow: hidden; margin: .5rem 0; }
        .progress span { display: block; height: 100%; width: 0; background: var(--accent); transition: width .4s ease; }
        .chart { margin: 1rem 0 0; }
        .chart svg { width: 100%; height: auto; background: var(--surface-2); border-radius: 10px; }
        .chart .grid-line { stroke: var(--line); stroke-width: 1; }
        .chart .axis { fill: var(--muted); font-size: 11px; font-family: system-ui, sans-serif; }
        .chart polyline { fill: none; stroke-width: 2; stroke-linejoin: round; }
        .chart .series.train { stroke: var(--accent); fill: var(--accent); }
        .chart polyline.series.train, .chart polyline.series.eval { fill: none; }
        .chart .series.eval { stroke: var(--info); fill: var(--info); }
        .chart figcaption { font-size: .85rem; color: var(--muted); margin-top: .35rem; }
        .key::before { content: ""; display: inline-block; width: 14px; height: 3px; border-radius: 2px; margin-right: .35rem; vertical-align: middle; }
        .key.train::before { background: var(--accent); } .key.eval::before { background: var(--info); }
        .log { max-height: 240px; overflow: auto; background: var(--surface-2); border-radius: 8px; padding: .75rem; font-size: .8rem; white-space: pre; }
        .samples { display: flex; flex-direction: column; gap: 1rem; margin-top: 1rem; }
        .sample { border-top: 1px solid var(--line); padding-top: .75rem; }
        .sample-prompt { font-weight: 600; }
        .sample-grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: .75rem; }
        .sample-answer { background: var(--surface-2); border-radius: 8px; padding: .6rem .75rem; font-size: .9rem; }
        .sample-answer.tuned { border: 2px solid var(--accent); }

        .chat-layout { display: grid; grid-template-columns: 300px minmax(0, 1fr); gap: 1.25rem; align-items: start; }
        .chat-settings label { font-weight: 600; font-size: .9rem; display: block; margin-top: .6rem; }
        .chat-settings .check-box { display: flex; margin-top: .75rem !important; }
        .chat-main { display: flex; flex-direction: column; min-height: 70vh; }
        .transcript { flex: 1; overflow-y: auto; max-height: 65vh; display: flex; flex-direction: column; gap: 1rem; padding-bottom: 1rem; }
        .chat-empty { margin: auto; text-align: center; max-width: 40ch; }
        .bubble { border-radius: 12px; padding: .7rem .9rem; max-width: 100%; }
        .bubble.user { background: var(--accent-soft); align-self: flex-end; max-width: 80%; }
        .bubble.assistant { background: var(--surface-2); }
        .replies { display: grid; gap: .75rem; margin-top: .5rem; }
        .replies.compare { grid-template-columns: 1fr 1fr; }
        .reply-model { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin-bottom: .25rem; }
        .reply-meta { font-size: .8rem; color: var(--muted); margin: .4rem 0 0; }
        .reply-actions { display: flex; flex-wrap: wrap; gap: .25rem; margin-top: .35rem; }
        .reply-actions .button { white-space: nowrap; }
        .correction { margin-top: .5rem; }
        .feedback-status { font-size: .85rem; margin: .5rem 0 0; }
        .feedback-status.ok { color: var(--ok); } .feedback-status.error { color: var(--bad); }
        .chat-input { border-top: 1px solid var(--line); padding-top: .75rem; }
        .chat-input .actions { margin-top: .5rem; }
        .conversations button.link { text-align: left; padding: .2rem .3rem; }
        .conversations button.current { color: var(--accent); font-weight: 600; }

        .steps { list-style: none; padding: 0; margin: 0 0 1.5rem; display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 1.25rem; }
        .step { position: relative; padding-top: 3.75rem; margin: 0; }
        .step-number { position: absolute; top: 1rem; left: 1.5rem; width: 2rem; height: 2rem; border-radius: 50%; background: var(--accent);
          color: var(--on-accent); display: grid; place-items: center; font-weight: 800; }
        @media (max-width: 860px) { .chat-layout, .steps, .sample-grid, .replies.compare { grid-template-columns: 1fr; } }
        """#
}
