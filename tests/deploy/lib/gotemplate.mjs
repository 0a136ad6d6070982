// tests/deploy/lib/gotemplate.mjs - a renderer for the subset of Helm's
// template language that deploy/helm/virtrigaud uses, because no helm
// binary can be installed on the test machines (Debian 12 has no package,
// and nothing else may be downloaded).  It is our own small
// implementation of Go's text/template rules for that subset, not helm:
//
//   {{ pipeline }}  {{- trims -}}  {{/* comments */}}
//   if / else if / else / end, range (with "$v :=" or "$k, $v :="), with,
//   define / include, "$x := pipeline", (parenthesised pipelines), pipes;
//   fields .a.b, $, $x.a; string, number, true/false literals;
//   functions: default printf quote toYaml nindent indent list eq ne not
//   and or include.
//
// Anything else (an unknown function, a keyword like "template" or
// "block", a missing value) is an error, so the chart cannot drift outside
// what this renderer, and so the test, understands.
import YAML from 'yaml';

// ---- lexing the template into text and actions -----------------------------

function lex(src, file) {
    const items = [];
    let i = 0;
    let trimNext = false;
    while (i < src.length) {
        const open = src.indexOf('{{', i);
        let text = open < 0 ? src.slice(i) : src.slice(i, open);
        if (trimNext)
            text = text.replace(/^\s+/, '');
        trimNext = false;
        if (open < 0) {
            items.push({ t: 'text', v: text });
            break;
        }
        const close = src.indexOf('}}', open);
        if (close < 0)
            throw new Error(`${file}: unclosed action at offset ${open}`);
        let body = src.slice(open + 2, close);
        if (/^-\s/.test(body)) {
            text = text.replace(/\s+$/, '');
            body = body.slice(1);
        }
        if (/\s-$/.test(body)) {
            trimNext = true;
            body = body.slice(0, -1);
        }
        items.push({ t: 'text', v: text });
        body = body.trim();
        if (!(body.startsWith('/*') && body.endsWith('*/')))
            items.push({ t: 'action', v: body, line: src.slice(0, open).split('\n').length });
        i = close + 2;
    }
    return items.filter(x => x.t !== 'text' || x.v !== '');
}

// ---- tokens of one action ----------------------------------------------------

function tokens(s, where) {
    const out = [];
    let i = 0;
    while (i < s.length) {
        const c = s[i];
        if (/\s/.test(c)) { i++; continue; }
        if (c === '"') {
            let j = i + 1;
            while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
            out.push({ k: 'str', v: JSON.parse(s.slice(i, j + 1)) });
            i = j + 1;
        } else if (c === '(' || c === ')' || c === '|' || c === ',') {
            out.push({ k: c });
            i++;
        } else if (s.startsWith(':=', i)) {
            out.push({ k: ':=' });
            i += 2;
        } else {
            const m = /^[^\s()|,]+/.exec(s.slice(i));
            const w = m[0];
            if (/^-?\d+(\.\d+)?$/.test(w)) out.push({ k: 'num', v: Number(w) });
            else if (w === 'true' || w === 'false') out.push({ k: 'bool', v: w === 'true' });
            else if (w.startsWith('.') || w.startsWith('$')) out.push({ k: 'field', v: w });
            else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) out.push({ k: 'ident', v: w });
            else throw new Error(`${where}: cannot read "${w}"`);
            i += w.length;
        }
    }
    return out;
}

// pipeline := command ('|' command)* ; command := operand+
function parsePipeline(toks, pos, where) {
    const cmds = [];
    let cmd = [];
    while (pos < toks.length && toks[pos].k !== ')') {
        const t = toks[pos];
        if (t.k === '|') {
            if (!cmd.length) throw new Error(`${where}: empty command before "|"`);
            cmds.push(cmd);
            cmd = [];
            pos++;
        } else if (t.k === '(') {
            const [sub, next] = parsePipeline(toks, pos + 1, where);
            if (!toks[next] || toks[next].k !== ')')
                throw new Error(`${where}: missing ")"`);
            cmd.push({ k: 'pipe', v: sub });
            pos = next + 1;
        } else if (t.k === ',' || t.k === ':=') {
            throw new Error(`${where}: unexpected "${t.k}"`);
        } else {
            cmd.push(t);
            pos++;
        }
    }
    if (!cmd.length) throw new Error(`${where}: empty pipeline`);
    cmds.push(cmd);
    return [cmds, pos];
}

function pipelineOf(s, where) {
    const toks = tokens(s, where);
    const [p, pos] = parsePipeline(toks, 0, where);
    if (pos !== toks.length) throw new Error(`${where}: unexpected ")"`);
    return p;
}

// "$a := p", "$k, $v := p", or "p"
function declOf(s, where) {
    const m = /^(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*(.*)$/s.exec(s);
    if (!m) return { vars: [], pipe: pipelineOf(s, where) };
    return { vars: m[2] ? [m[1], m[2]] : [m[1]], pipe: pipelineOf(m[3], where) };
}

// ---- the tree of control structures ---------------------------------------

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define']);

function parse(items, file, defines) {
    let i = 0;
    function block(stopAt) {
        const nodes = [];
        while (i < items.length) {
            const it = items[i];
            if (it.t === 'text') { nodes.push(it); i++; continue; }
            const where = `${file}:${it.line}`;
            const word = it.v.split(/\s+/)[0];
            if (stopAt.includes(word)) return nodes;
            i++;
            if (word === 'if' || word === 'with') {
                const branches = [{ pipe: pipelineOf(it.v.slice(word.length), where) }];
                let cur = branches[0];
                let elseBody = null;
                for (;;) {
                    cur.body = block(['else', 'end']);
                    const stop = items[i++];
                    if (!stop) throw new Error(`${where}: "${word}" without "end"`);
                    if (stop.v === 'end') break;
                    const rest = stop.v.slice(4).trim();
                    if (word === 'if' && rest.startsWith('if ')) {
                        cur = { pipe: pipelineOf(rest.slice(3), where) };
                        branches.push(cur);
                    } else if (rest === '') {
                        elseBody = block(['end']);
                        i++;
                        break;
                    } else {
                        throw new Error(`${where}: unsupported "${stop.v}"`);
                    }
                }
                nodes.push({ t: word, branches, elseBody });
            } else if (word === 'range') {
                const d = declOf(it.v.slice(5).trim(), where);
                const body = block(['else', 'end']);
                let elseBody = null;
                const stop = items[i++];
                if (!stop) throw new Error(`${where}: "range" without "end"`);
                if (stop.v === 'else') { elseBody = block(['end']); i++; }
                nodes.push({ t: 'range', ...d, body, elseBody });
            } else if (word === 'define') {
                const name = JSON.parse(it.v.slice(6).trim());
                defines.set(name, block(['end']));
                i++;
            } else if (KEYWORDS.has(word)) {
                throw new Error(`${where}: "${word}" out of place`);
            } else if (/^\$\w+\s*:=/.test(it.v)) {
                const d = declOf(it.v, where);
                nodes.push({ t: 'set', name: d.vars[0], pipe: d.pipe, where });
            } else if (/^[a-z]+$/.test(word) && ['template', 'block', 'break', 'continue'].includes(word)) {
                throw new Error(`${where}: "${word}" is outside the supported subset`);
            } else {
                nodes.push({ t: 'out', pipe: pipelineOf(it.v, where), where });
            }
        }
        if (stopAt.length) throw new Error(`${file}: missing "{{ end }}"`);
        return nodes;
    }
    return block([]);
}

// ---- evaluation --------------------------------------------------------------

function truthy(v) {
    if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
    if (Array.isArray(v)) return v.length > 0;
    if (typeof v === 'object') return Object.keys(v).length > 0;
    return true;
}

function str(v, where) {
    if (v === undefined) throw new Error(`${where}: a value is missing`);
    if (v === null) return '<nil>';
    if (typeof v === 'object') throw new Error(`${where}: a map or list printed without toYaml`);
    return String(v);
}

function indentLines(n, s) {
    const pad = ' '.repeat(n);
    return s.split('\n').map(l => pad + l).join('\n');
}

function sprintf(fmt, args, where) {
    let k = 0;
    return fmt.replace(/%[sdv%]/g, m => {
        if (m === '%%') return '%';
        if (k >= args.length) throw new Error(`${where}: printf has too few arguments`);
        return str(args[k++], where);
    });
}

function toYaml(v) {
    if (v === null || v === undefined) return 'null';
    return YAML.stringify(v, { lineWidth: 0 }).replace(/\n$/, '');
}

export function makeRenderer() {
    const defines = new Map();

    const FUNCS = {
        default: (where, d, v) => (truthy(v) ? v : d),
        printf: (where, fmt, ...a) => sprintf(fmt, a, where),
        quote: (where, v) => JSON.stringify(str(v, where)),
        toYaml: (where, v) => toYaml(v),
        nindent: (where, n, s) => '\n' + indentLines(n, str(s, where)),
        indent: (where, n, s) => indentLines(n, str(s, where)),
        list: (where, ...a) => a,
        eq: (where, a, b) => a === b,
        ne: (where, a, b) => a !== b,
        not: (where, v) => !truthy(v),
        and: (where, ...a) => a.find(x => !truthy(x)) ?? a[a.length - 1],
        or: (where, ...a) => a.find(x => truthy(x)) ?? a[a.length - 1],
        include: (where, name, ctx) => {
            const body = defines.get(name);
            if (!body) throw new Error(`${where}: no template "${name}" is defined`);
            return run(body, ctx, new Map([['$', ctx]]));
        },
    };

    function field(path, dot, vars, where) {
        let base;
        let rest;
        if (path.startsWith('$')) {
            const m = /^\$\w*/.exec(path);
            if (!vars.has(m[0])) throw new Error(`${where}: undefined variable ${m[0]}`);
            base = vars.get(m[0]);
            rest = path.slice(m[0].length);
        } else {
            base = dot;
            rest = path;
        }
        if (rest === '.' || rest === '') return base;
        let v = base;
        const walked = [];
        for (const part of rest.slice(1).split('.')) {
            walked.push(part);
            if (v === null || typeof v !== 'object' || !(part in v))
                throw new Error(`${where}: ${path} has no value (missing at .${walked.join('.')})`);
            v = v[part];
        }
        return v;
    }

    function operand(t, dot, vars, where) {
        switch (t.k) {
        case 'str': case 'num': case 'bool': return t.v;
        case 'field': return field(t.v, dot, vars, where);
        case 'pipe': return pipeline(t.v, dot, vars, where);
        case 'ident':
            if (!(t.v in FUNCS)) throw new Error(`${where}: function "${t.v}" is outside the supported subset`);
            return FUNCS[t.v](where);
        default: throw new Error(`${where}: unexpected token`);
        }
    }

    function pipeline(cmds, dot, vars, where) {
        let prev;
        cmds.forEach((cmd, idx) => {
            const head = cmd[0];
            if (head.k === 'ident') {
                if (!(head.v in FUNCS))
                    throw new Error(`${where}: function "${head.v}" is outside the supported subset`);
                const args = cmd.slice(1).map(t => operand(t, dot, vars, where));
                if (idx > 0) args.push(prev);
                prev = FUNCS[head.v](where, ...args);
            } else {
                if (cmd.length !== 1 || idx > 0)
                    throw new Error(`${where}: only a function can take arguments`);
                prev = operand(head, dot, vars, where);
            }
        });
        return prev;
    }

    function run(nodes, dot, vars) {
        let out = '';
        for (const n of nodes) {
            if (n.t === 'text') {
                out += n.v;
            } else if (n.t === 'out') {
                out += str(pipeline(n.pipe, dot, vars, n.where), n.where);
            } else if (n.t === 'set') {
                vars.set(n.name, pipeline(n.pipe, dot, vars, n.where));
            } else if (n.t === 'if' || n.t === 'with') {
                let done = false;
                for (const b of n.branches) {
                    const v = pipeline(b.pipe, dot, vars, 'if');
                    if (truthy(v)) {
                        out += run(b.body, n.t === 'with' ? v : dot, new Map(vars));
                        done = true;
                        break;
                    }
                }
                if (!done && n.elseBody) out += run(n.elseBody, dot, new Map(vars));
            } else if (n.t === 'range') {
                const v = pipeline(n.pipe, dot, vars, 'range');
                const entries = Array.isArray(v) ? v.map((x, i) => [i, x])
                    : v && typeof v === 'object' ? Object.keys(v).sort().map(k => [k, v[k]])
                    : [];
                if (!entries.length && n.elseBody) out += run(n.elseBody, dot, new Map(vars));
                for (const [k, x] of entries) {
                    const scope = new Map(vars);
                    if (n.vars.length === 1) scope.set(n.vars[0], x);
                    if (n.vars.length === 2) { scope.set(n.vars[0], k); scope.set(n.vars[1], x); }
                    out += run(n.body, x, scope);
                }
            }
        }
        return out;
    }

    return {
        // Parses a file; its {{ define }}s become available to include.
        load(src, file) {
            return parse(lex(src, file), file, defines);
        },
        render(tree, ctx) {
            return run(tree, ctx, new Map([['$', ctx]]));
        },
    };
}
