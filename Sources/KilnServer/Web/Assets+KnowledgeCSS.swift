// The Knowledge pages' styles: the two-column base layout, upload progress rows, the three result columns of the
// side-by-side search, chunk cards (the one a citation opens is outlined), and the citations under a chat answer.

extension Assets {
    /// The knowledge part of `/static/kiln.css`.
    static let knowledgeCSS = """
        .kb-layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.25rem; align-items: start; margin-bottom: 1.25rem; }
        .kb-results { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 1rem; margin-top: 1rem; }
        .kb-results h3 { font-size: .85rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
        .results { padding-left: 1.2rem; margin: 0; }
        .result { margin-bottom: .9rem; }
        .result-title { font-weight: 600; }
        .result-scores { font-size: .78rem; color: var(--muted); margin: .15rem 0; font-variant-numeric: tabular-nums; }
        .result-text { font-size: .88rem; margin: 0; }
        .search-row { display: flex; gap: .6rem; }
        .search-row input { flex: 1; }
        .uploads { margin-top: .8rem; }
        .upload { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 2fr) minmax(0, 2fr); gap: .6rem; align-items: center; padding: .3rem 0; }
        .upload progress { width: 100%; }
        .upload-state { font-size: .85rem; color: var(--muted); }
        .upload.done .upload-state { color: var(--accent); }
        .upload.failed .upload-state { color: #b42318; }
        .chunks { display: grid; gap: .9rem; }
        .chunk { scroll-margin-top: 5rem; }
        .chunk:target { outline: 3px solid var(--accent); outline-offset: 2px; }
        .chunk-path { font-size: .8rem; color: var(--muted); margin: 0 0 .4rem; }
        .chunk-text { white-space: pre-wrap; }
        .chunk-origin { font-size: .85rem; margin: .5rem 0 0; }
        .citations { font-size: .82rem; margin: .5rem 0 0; padding-left: 0; list-style: none; }
        .citation { margin: .15rem 0; }
        .danger-zone { margin-top: 1.2rem; border-top: 1px solid var(--line); padding-top: .8rem; }
        @media (max-width: 900px) { .kb-layout, .kb-results { grid-template-columns: 1fr; } }
        """
}
