// The site's stylesheet: warm neutrals with an ember accent, cards and tables, light and dark.

extension Assets {
    /// `/static/kiln.css`.
    static let css = #"""
        :root {
          --bg: #faf7f2; --surface: #ffffff; --surface-2: #f3eee6; --text: #1f2328; --muted: #5f6670; --line: #e4ddd2;
          --accent: #c2410c; --accent-strong: #9a3412; --accent-soft: #ffedd5; --on-accent: #ffffff;
          --ok: #15803d; --ok-soft: #dcfce7; --on-ok: #ffffff; --bad: #b91c1c; --bad-soft: #fee2e2; --wait: #a16207; --wait-soft: #fef3c7;
          --info-soft: #e0f2fe; --info: #075985; --radius: 12px; --shadow: 0 1px 2px rgba(31, 35, 40, .06), 0 4px 16px rgba(31, 35, 40, .05);
          --mono: ui-monospace, "SFMono-Regular", "JetBrains Mono", Menlo, Consolas, monospace;
          color-scheme: light dark;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #141312; --surface: #1d1b19; --surface-2: #262320; --text: #ece7e1; --muted: #a59d94; --line: #35302b;
            --accent: #fb923c; --accent-strong: #fdba74; --accent-soft: #3b2416; --on-accent: #1b0f06;
            --ok: #4ade80; --ok-soft: #12301d; --on-ok: #052e16; --bad: #f87171; --bad-soft: #3a1717; --wait: #facc15; --wait-soft: #33290c;
            --info-soft: #0c2a3a; --info: #7dd3fc; --shadow: 0 1px 2px rgba(0, 0, 0, .4);
          }
        }
        *, *::before, *::after { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; }
        body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
          color: var(--text); background: var(--bg); display: flex; flex-direction: column; min-height: 100vh; }
        a { color: var(--accent); text-decoration-thickness: 1px; text-underline-offset: 2px; }
        a:hover { color: var(--accent-strong); }
        h1, h2, h3 { line-height: 1.2; margin: 0 0 .5rem; letter-spacing: -.01em; }
        h1 { font-size: 2rem; } h2 { font-size: 1.3rem; } h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin-top: 1.25rem; }
        p { margin: 0 0 .75rem; }
        code, pre { font-family: var(--mono); font-size: .9em; }
        pre { white-space: pre-wrap; word-break: break-word; margin: 0; }
        [hidden] { display: none !important; }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-radius: 4px; }

        .bar { max-width: 1120px; margin: 0 auto; padding: 0 1.25rem; display: flex; align-items: center; gap: 1.5rem; flex-wrap: wrap; }
        header.top { background: var(--surface); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; }
        header.top .bar { min-height: 60px; }
        .brand { font-weight: 800; font-size: 1.25rem; color: var(--text); text-decoration: none; letter-spacing: -.02em; display: inline-flex; align-items: center; gap: .5rem; }
        .brand:hover { color: var(--text); }
        .logo { width: 26px; height: 26px; border-radius: 8px 8px 13px 13px; background: radial-gradient(circle at 50% 80%, #fde68a 0 18%, #fb923c 40%, #c2410c 75%, #7c2d12 100%);
          box-shadow: inset 0 -3px 0 rgba(0, 0, 0, .18); }
        nav a { color: var(--text); text-decoration: none; font-weight: 500; padding: .35rem .5rem; border-radius: 8px; }
        nav a:hover { background: var(--surface-2); color: var(--text); }
        nav.primary { display: flex; gap: .25rem; }
        nav.account { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
        nav.account a.button { color: var(--on-accent); }
        .who { font-weight: 600; padding: .25rem .6rem; background: var(--surface-2); border-radius: 999px; font-size: .9rem; }
        main { flex: 1; width: 100%; max-width: 1120px; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
        footer { border-top: 1px solid var(--line); color: var(--muted); font-size: .875rem; padding: 1.25rem 0; }
        form.inline { display: inline; margin: 0; }

        .card { background: var(--surface); border: 1px solid var(--line); border-radius: var(--radius); padding: 1.25rem 1.5rem; box-shadow: var(--shadow); margin-bottom: 1.25rem; }
        .card.narrow { max-width: 440px; margin: 1rem auto; }
        .card.empty { text-align: center; padding: 2.5rem 1.5rem; color: var(--muted); }
        .card.empty h2 { color: var(--text); }
        .form-card { max-width: 760px; margin: 0 auto; }
        .lead { font-size: 1.075rem; color: var(--muted); max-width: 70ch; }
        .muted { color: var(--muted); }
        .eyebrow { font-size: .8rem; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin-bottom: .25rem; }
        .eyebrow a { color: var(--muted); }
        .hint { font-size: .85rem; color: var(--muted); margin: .25rem 0 0; }
        .label { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 .25rem; display: block; }

        .hero { display: flex; align-items: flex-end; justify-content: space-between; gap: 1.5rem; margin-bottom: 1.5rem; flex-wrap: wrap; }
        .hero h1 { font-size: 2.4rem; }
        .page-head { margin-bottom: 1.25rem; }
        .grid { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1.25rem; }
        .grid .card { margin: 0; }
        .datanet-card { padding: 0; transition: transform .12s ease, box-shadow .12s ease, border-color .12s ease; }
        .datanet-card:hover { transform: translateY(-2px); border-color: var(--accent); }
        .datanet-card .cover { display: block; padding: 1.25rem 1.5rem; color: inherit; text-decoration: none; height: 100%; }
        .datanet-card h2 { margin-top: .75rem; }
        .datanet-card .description { color: var(--muted); display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
        .card-top { display: flex; gap: .4rem; align-items: center; }
        .mini-stats { display: flex; flex-wrap: wrap; gap: .35rem 1rem; margin: .75rem 0 0; padding-top: .75rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .9rem; }
        .mini-stats strong { color: var(--text); font-size: 1.05rem; font-variant-numeric: tabular-nums; }
        .license { margin-left: auto; font-size: .8rem; color: var(--muted); }

        .stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: .5rem; margin: 1rem 0 0; }
        .stats div { background: var(--surface-2); border-radius: 8px; padding: .5rem .6rem; }
        .stats dt { font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
        .stats dd { margin: 0; font-weight: 700; font-size: 1.1rem; font-variant-numeric: tabular-nums; }
        .stats.big { grid-template-columns: repeat(2, 1fr); margin-top: 0; margin-bottom: 1rem; }
        .stats.big dd { font-size: 1.5rem; }

        .tag, .badge { display: inline-block; font-size: .75rem; font-weight: 600; padding: .15rem .55rem; border-radius: 999px;
          background: var(--surface-2); color: var(--muted); vertical-align: middle; letter-spacing: .02em; }
        h1 .tag { font-size: .8rem; vertical-align: .35em; margin-left: .35rem; }
        .tag.kind-text { background: var(--info-soft); color: var(--info); }
        .tag.kind-image { background: #f3e8ff; color: #6b21a8; }
        .tag.kind-audio { background: #ccfbf1; color: #115e59; }
        @media (prefers-color-scheme: dark) { .tag.kind-image { background: #2e1a40; color: #d8b4fe; } .tag.kind-audio { background: #0f2e2b; color: #5eead4; } }
        .badge { text-transform: uppercase; font-size: .7rem; letter-spacing: .06em; }
        .badge.pending { background: var(--wait-soft); color: var(--wait); }
        .badge.accepted { background: var(--ok-soft); color: var(--ok); }
        .badge.rejected { background: var(--bad-soft); color: var(--bad); }

        .button { display: inline-flex; align-items: center; justify-content: center; gap: .35rem; font: inherit; font-weight: 600; font-size: .95rem;
          padding: .55rem 1rem; border-radius: 8px; border: 1px solid var(--line); background: var(--surface); color: var(--text);
          cursor: pointer; text-decoration: none; line-height: 1.2; }
        .button:hover { background: var(--surface-2); color: var(--text); }
        .button.primary { background: var(--accent); border-color: var(--accent); color: var(--on-accent); }
        .button.primary:hover { background: var(--accent-strong); border-color: var(--accent-strong); color: var(--on-accent); }
        .button.success { background: var(--ok); border-color: var(--ok); color: var(--on-ok); }
        .button.success:hover { filter: brightness(1.08); background: var(--ok); color: var(--on-ok); }
        .button.danger { background: var(--surface); border-color: var(--bad); color: var(--bad); }
        .button.danger:hover { background: var(--bad-soft); }
        .button.ghost { background: transparent; border-color: transparent; }
        .button.small { padding: .3rem .65rem; font-size: .85rem; }
        .button.block { display: flex; width: 100%; margin-bottom: .5rem; }
        .button:disabled { opacity: .6; cursor: progress; }
        button.link { background: none; border: 0; color: var(--muted); font: inherit; cursor: pointer; padding: .35rem .5rem; border-radius: 8px; }
        button.link:hover { color: var(--text); background: var(--surface-2); }
        .linkish { color: var(--accent); text-decoration: underline; cursor: pointer; }

        .stack { display: flex; flex-direction: column; gap: .35rem; }
        .stack > .button { margin-top: 1rem; align-self: flex-start; }
        .auth .stack > .button { align-self: stretch; }
        .stack > label, .stack label[for] { font-weight: 600; font-size: .92rem; margin-top: .6rem; }
        input[type=text], input:not([type]), input[type=password], input[type=number], textarea, select {
          font: inherit; width: 100%; padding: .55rem .7rem; border-radius: 8px; border: 1px solid var(--line); background: var(--surface);
          color: var(--text); }
        textarea { resize: vertical; }
        input:focus, textarea:focus, select:focus { border-color: var(--accent); outline: 3px solid var(--accent-soft); outline-offset: 0; }
        fieldset { border: 1px solid var(--line); border-radius: var(--radius); padding: .75rem 1rem 1rem; margin: .75rem 0 0; }
        legend { font-weight: 700; padding: 0 .35rem; }
        .two { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1rem; }
        .three { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0 1rem; }
        .two > div, .three > div { display: flex; flex-direction: column; gap: .35rem; }
        .two label, .three label { font-weight: 600; font-size: .92rem; margin-top: .6rem; }
        .choices { display: grid; grid-template-columns: repeat(3, 1fr); gap: .75rem; }
        .choice { display: flex; gap: .6rem; align-items: flex-start; border: 1px solid var(--line); border-radius: 10px; padding: .7rem .8rem; cursor: pointer; margin: 0 !important; }
        .choice:has(input:checked) { border-color: var(--accent); background: var(--accent-soft); }
        .choice small { display: block; color: var(--muted); font-weight: 400; }
        .format-group { margin-top: .5rem; }
        .boxes { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; margin-top: .35rem; }
        .check-box { display: inline-flex; gap: .4rem; align-items: center; font-weight: 500 !important; margin: 0 !important; }
        .actions { display: flex; gap: .6rem; align-items: center; margin-top: 1rem; flex-wrap: wrap; }
        .busy { color: var(--muted); font-size: .9rem; }

        .alert { border-radius: 10px; padding: .75rem 1rem; margin: 0 0 1rem; border: 1px solid transparent; }
        .alert.error { background: var(--bad-soft); color: var(--bad); border-color: var(--bad); }
        .alert.success { background: var(--ok-soft); color: var(--ok); border-color: var(--ok); }
        .notice { background: var(--info-soft); color: var(--info); padding: .5rem .75rem; border-radius: 8px; }
        .field-error { color: var(--bad); font-size: .9rem; margin: .25rem 0 0; font-weight: 600; }

        .datanet-head { margin-bottom: 1.25rem; }
        .tabs { display: flex; gap: .25rem; box-shadow: inset 0 -1px 0 var(--line); margin-top: 1rem; overflow-x: auto; overflow-y: hidden; scrollbar-width: none; }
        .tabs a { padding: .55rem .9rem; color: var(--muted); text-decoration: none; font-weight: 600; white-space: nowrap; border-radius: 8px 8px 0 0; }
        .tabs a:hover { color: var(--text); background: var(--surface-2); }
        .tabs a.current { color: var(--accent); box-shadow: inset 0 -2px 0 var(--accent); }
        .layout { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 1.25rem; align-items: start; }
        .side-col .card { position: sticky; top: 80px; }
        .rules { padding-left: 1.2rem; margin: 0; }
        .rules li { margin-bottom: .35rem; }
        ul.plain { list-style: none; padding: 0; margin: 0 0 .5rem; }
        .links { margin-top: 1rem; line-height: 1.9; }
        .description { white-space: pre-line; }

        .dropzone { border: 2px dashed var(--line); border-radius: var(--radius); padding: 1.5rem; text-align: center; background: var(--surface-2); transition: border-color .12s, background .12s; }
        .dropzone.over { border-color: var(--accent); background: var(--accent-soft); }
        .dropzone input[type=file] { display: block; margin: 0 auto .75rem; max-width: 100%; }
        .file-list { list-style: none; padding: 0; margin: .5rem 0 0; text-align: left; font-size: .9rem; }
        .file-list li { padding: .2rem 0; border-top: 1px solid var(--line); }
        .chat-rows { display: flex; flex-direction: column; gap: .5rem; }
        .chat-row { display: grid; grid-template-columns: 130px 1fr auto; gap: .5rem; align-items: start; }

        .results { margin-top: 1rem; display: flex; flex-direction: column; gap: .75rem; }
        .result { border: 1px solid var(--line); border-radius: 10px; padding: .8rem 1rem; border-left-width: 4px; }
        .result.pending { border-left-color: var(--wait); } .result.accepted { border-left-color: var(--ok); } .result.rejected { border-left-color: var(--bad); }
        .result.error { border-left-color: var(--bad); background: var(--bad-soft); color: var(--bad); }
        .result-head { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin-bottom: .35rem; }
        .checks { list-style: none; padding: 0; margin: .35rem 0 0; }
        .check { display: flex; gap: .5rem; align-items: baseline; padding: .15rem 0; font-size: .92rem; }
        .check .mark { font-weight: 800; width: 1.1em; text-align: center; }
        .check.ok .mark { color: var(--ok); } .check.fail .mark { color: var(--bad); }
        .check.fail .check-detail { color: var(--bad); }
        .check-name { font-weight: 600; min-width: 9rem; flex-shrink: 0; text-transform: capitalize; }
        .check-detail { color: var(--muted); }

        .items { list-style: none; padding: 0; margin: 0; }
        .item-head { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; margin-bottom: .6rem; }
        .item-head .when { margin-left: auto; font-size: .85rem; }
        .item.status-rejected { border-left: 4px solid var(--bad); } .item.status-accepted { border-left: 4px solid var(--ok); } .item.status-pending { border-left: 4px solid var(--wait); }
        .reason { background: var(--bad-soft); color: var(--bad); padding: .5rem .75rem; border-radius: 8px; }
        .status-accepted .reason { background: var(--ok-soft); color: var(--ok); }
        details { margin-top: .6rem; } summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
        .text-item, .chat-item pre, .instruction-item pre { font-family: inherit; font-size: .95rem; background: var(--surface-2); border-radius: 8px; padding: .6rem .8rem; max-height: 16rem; overflow: auto; }
        .instruction-item { margin: 0; } .instruction-item dt { font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin-top: .4rem; }
        .instruction-item dd { margin: .2rem 0 0; }
        .turn { display: grid; grid-template-columns: 90px 1fr; gap: .5rem; margin-bottom: .35rem; }
        .turn .role { font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); padding-top: .6rem; }
        .preview { margin: 0; } .preview img { max-width: 100%; height: auto; min-height: 96px; max-height: 260px; object-fit: contain; border-radius: 8px; border: 1px solid var(--line); display: block; background: var(--surface-2); }
        .preview audio { width: 100%; max-width: 480px; } .preview figcaption { font-size: .85rem; color: var(--muted); margin-top: .35rem; }
        form.review { border-top: 1px solid var(--line); margin-top: .9rem; padding-top: .6rem; }
        form.review label { font-weight: 600; font-size: .92rem; display: block; margin-bottom: .3rem; }
        form.review .actions { margin-top: .6rem; }

        .table-card { padding: 0; overflow-x: auto; }
        .table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        .table th, .table td { padding: .65rem 1rem; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
        .table thead th { font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); background: var(--surface-2); }
        .table tbody tr:last-child td { border-bottom: 0; }
        .table tbody tr:hover { background: var(--surface-2); }
        .table .num { text-align: right; }
        .table tr.you { background: var(--accent-soft); }
        .rank { font-weight: 700; white-space: nowrap; }
        .medal { display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; margin-right: .45rem; }
        .medal.rank-1 { background: #eab308; } .medal.rank-2 { background: #9ca3af; } .medal.rank-3 { background: #b45309; }
        .hash { font-family: var(--mono); font-size: .85rem; background: var(--surface-2); padding: .1rem .35rem; border-radius: 5px; }
        .hash.wrap { word-break: break-all; font-size: .78rem; display: inline-block; max-width: 30ch; line-height: 1.35; }
        .hash.full { display: block; word-break: break-all; padding: .6rem .8rem; font-size: .92rem; }
        .publish { display: flex; align-items: center; justify-content: space-between; gap: 1rem; flex-wrap: wrap; border-color: var(--accent); }
        .publish h2 { margin-bottom: .2rem; } .publish p { margin: 0; }
        .version-title { display: flex; justify-content: space-between; align-items: center; gap: 1rem; flex-wrap: wrap; margin-bottom: .75rem; }
        .paging { display: flex; gap: .5rem; justify-content: center; margin-top: 1rem; }
        .error-page h1 { font-size: 1.8rem; }

        @media (max-width: 860px) {
          .layout { grid-template-columns: 1fr; }
          .side-col .card { position: static; }
        }
        @media (max-width: 640px) {
          h1, .hero h1 { font-size: 1.6rem; }
          main { padding: 1.25rem 1rem 2rem; }
          .two, .three, .choices { grid-template-columns: 1fr; }
          .stats { grid-template-columns: repeat(2, 1fr); }
          .chat-row { grid-template-columns: 1fr auto; } .chat-row select { grid-column: 1 / -1; }
          .card { padding: 1rem; }
          nav.account { margin-left: 0; }
        }
        """#
}
