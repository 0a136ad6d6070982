#!/usr/bin/env node
// tests/staging/s3-listparts.mjs - an S3 STAND-IN for the one feature s3rver
// lacks: ListParts (GET KEY?uploadId=ID), which the S3 staging backend
// (core/staging/stage_s3.c) asks when it resumes a multipart upload.  The
// project's rule is that a fake is used only where no real system implements
// the feature; everything else in tests/staging runs against s3rver.
//
// It implements, path-style (/BUCKET/KEY), just what stage_s3.c calls, and
// implements it the way S3 does:
//   HEAD   /BUCKET                                  the bucket exists (200/404)
//   POST   /BUCKET/KEY?uploads=                     CreateMultipartUpload
//   PUT    /BUCKET/KEY?partNumber=N&uploadId=ID     UploadPart (ETag = MD5)
//   GET    /BUCKET/KEY?[max-parts=M&][part-number-marker=N&]uploadId=ID
//                                                   ListParts, paginated
//   POST   /BUCKET/KEY?uploadId=ID                  CompleteMultipartUpload
//                                                   (parts ascending, ETags
//                                                   checked, non-last parts
//                                                   >= 5 MiB)
//   DELETE /BUCKET/KEY?uploadId=ID                  AbortMultipartUpload
//   PUT/GET/HEAD/DELETE /BUCKET/KEY                 small objects (KEY.upload)
//   GET with Range: bytes=A-B                       206 Partial Content
// Anything else is answered 501 NotImplemented.
//
// Page size of ListParts: the client's max-parts is honoured, but this
// server's own maximum is small (--page-size, default 2, where S3's is 1000),
// so that a handful of parts already spans several pages.
//
// Not checked: SigV4 signatures (an Authorization header must be present, its
// signature is not verified; tests/unit/test_staging.c checks our signing
// against AWS's published example).  x-amz-content-sha256 IS checked against
// the body, as S3 does.
//
// Test hooks (flags), each off unless given:
//   --stall-part N   the first UploadPart of part N is never answered (the
//                    test kills the client while it waits: an interruption
//                    at a known point); later ones are served
//   --fail-part N    the first UploadPart of part N is answered 500
//                    InternalError (the client's retry resumes the upload)
//   --forget-part N  the first UploadPart of part N is answered 200 with its
//                    ETag but not kept, as if the server had lost it: the
//                    client's upload record says it holds part N, ListParts
//                    does not list it, and Complete refuses it as missing
//   --lie MODE       ListParts lies on every page:
//                      stuck-marker  NextPartNumberMarker never advances
//                                    (the first page, whatever marker asked)
//                      no-marker     IsTruncated true without a
//                                    NextPartNumberMarker
//                      too-many      an endless list of parts (pages of
//                                    max-parts, numbers past 10000)
// Every request is logged to --log FILE, one line when answered:
//   METHOD URL STATUS [note]     (URL as the client sent it)
// and "METHOD URL STALLED" for a stalled request.
//
//   node s3-listparts.mjs --port P --dir DIR --log FILE --bucket B [hooks]
// Objects are files DIR/BUCKET/KEY; parts DIR/.uploads/ID/N.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const opt = {port: 0, dir: '', log: '', bucket: [], 'page-size': '2',
             'stall-part': '', 'fail-part': '', 'forget-part': '', lie: ''};
for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, '');
    if (!(k in opt) || i + 1 >= process.argv.length) {
        console.error(`s3-listparts: unknown or incomplete option ${process.argv[i]}`);
        process.exit(2);
    }
    if (Array.isArray(opt[k])) opt[k].push(process.argv[i + 1]);
    else opt[k] = process.argv[i + 1];
}
if (!opt.port || !opt.dir || !opt.log || !opt.bucket.length ||
    !['', 'stuck-marker', 'no-marker', 'too-many'].includes(opt.lie)) {
    console.error('usage: s3-listparts.mjs --port P --dir DIR --log FILE --bucket B ' +
                  '[--page-size N] [--stall-part N] [--fail-part N] [--forget-part N] ' +
                  '[--lie stuck-marker|no-marker|too-many]');
    process.exit(2);
}
const PAGE_MAX = Number(opt['page-size']);
const MIN_PART = 5 << 20; // S3: every part but the last
let stallPart = opt['stall-part'] ? Number(opt['stall-part']) : 0;
let failPart = opt['fail-part'] ? Number(opt['fail-part']) : 0;
let forgetPart = opt['forget-part'] ? Number(opt['forget-part']) : 0;
const UPLOADS = path.join(opt.dir, '.uploads');
fs.mkdirSync(UPLOADS, {recursive: true});
for (const b of opt.bucket) fs.mkdirSync(path.join(opt.dir, b), {recursive: true});
const uploads = new Map(); // id -> {bucket, key, parts: Map(n -> {size, etag})}

const log = line => fs.appendFileSync(opt.log, line + '\n');
const esc = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
                  .replace(/"/g, '&quot;');
const md5 = b => crypto.createHash('md5').update(b).digest('hex');

function answer(req, res, code, body = '', headers = {}, note = '') {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    res.writeHead(code, code === 204 ? headers
                  : {'Content-Length': String(headers['Content-Length'] ?? buf.length),
                     ...headers});
    res.end(req.method === 'HEAD' ? undefined : buf);
    log(`${req.method} ${req.url} ${code}${note ? ' ' + note : ''}`);
}

function fail(req, res, code, s3code, msg) {
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + s3code +
        '</Code><Message>' + esc(msg) + '</Message></Error>';
    answer(req, res, code, xml, {'Content-Type': 'application/xml'});
}

const xmlAnswer = (req, res, body, note) =>
    answer(req, res, 200, '<?xml version="1.0" encoding="UTF-8"?>\n' + body,
           {'Content-Type': 'application/xml'}, note);

// DIR/BUCKET/KEY, never outside DIR/BUCKET
function objectFile(bucket, key) {
    if (!key || key.split('/').some(s => s === '..' || s === '.' || s === ''))
        return null;
    return path.join(opt.dir, bucket, key);
}

function listParts(req, res, q, up) {
    const asked = q.has('max-parts') ? Number(q.get('max-parts')) : 1000;
    let marker = q.has('part-number-marker') ? Number(q.get('part-number-marker')) : 0;
    if (!Number.isInteger(asked) || asked < 0 || !Number.isInteger(marker) || marker < 0)
        return fail(req, res, 400, 'InvalidArgument', 'bad max-parts or part-number-marker');
    let size = Math.min(asked, PAGE_MAX);
    let all = [...up.parts.keys()].sort((a, b) => a - b)
        .map(n => ({n, ...up.parts.get(n)}));
    if (opt.lie === 'stuck-marker')
        marker = 0; // always the first page, so the same NextPartNumberMarker
    if (opt.lie === 'too-many') { // parts marker+1... forever
        size = asked;
        all = Array.from({length: size + 1}, (_, i) => ({n: marker + 1 + i, size: 1,
                                                         etag: '"0"'}));
    }
    const rest = all.filter(p => p.n > marker);
    const page = rest.slice(0, size);
    const truncated = rest.length > page.length;
    const next = page.length ? page[page.length - 1].n : marker;
    let xml = '<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${esc(up.bucket)}</Bucket><Key>${esc(up.key)}</Key>` +
        `<UploadId>${esc(q.get('uploadId'))}</UploadId>` +
        `<PartNumberMarker>${marker}</PartNumberMarker>`;
    if (opt.lie !== 'no-marker')
        xml += `<NextPartNumberMarker>${next}</NextPartNumberMarker>`;
    xml += `<MaxParts>${size}</MaxParts><IsTruncated>${truncated}</IsTruncated>`;
    for (const p of page)
        xml += `<Part><PartNumber>${p.n}</PartNumber><ETag>${esc(p.etag)}</ETag>` +
            `<Size>${p.size}</Size></Part>`;
    xmlAnswer(req, res, xml + '</ListPartsResult>',
              `listparts=${page.map(p => p.n).join(',') || '-'}` +
              `${truncated ? ' truncated' : ''}${opt.lie ? ' lie=' + opt.lie : ''}`);
}

function complete(req, res, q, up, body, id) {
    const want = [...body.toString().matchAll(
        /<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]*)<\/ETag>\s*<\/Part>/g)]
        .map(m => ({n: Number(m[1]), etag: m[2].replace(/&quot;/g, '"')}));
    if (!want.length)
        return fail(req, res, 400, 'MalformedXML', 'no parts in CompleteMultipartUpload');
    for (let i = 0; i < want.length; i++) {
        const p = up.parts.get(want[i].n);
        if (i && want[i].n <= want[i - 1].n)
            return fail(req, res, 400, 'InvalidPartOrder', 'parts not in ascending order');
        if (!p || p.etag !== want[i].etag)
            return fail(req, res, 400, 'InvalidPart', `part ${want[i].n} missing or ETag differs`);
        if (i < want.length - 1 && p.size < MIN_PART)
            return fail(req, res, 400, 'EntityTooSmall', `part ${want[i].n} is too small`);
    }
    const file = objectFile(up.bucket, up.key);
    fs.mkdirSync(path.dirname(file), {recursive: true});
    const fd = fs.openSync(file + '.completing', 'w');
    const hash = crypto.createHash('md5');
    for (const w of want) {
        const b = fs.readFileSync(path.join(UPLOADS, id, String(w.n)));
        fs.writeSync(fd, b);
        hash.update(Buffer.from(w.etag.replace(/"/g, ''), 'hex'));
    }
    fs.closeSync(fd);
    fs.renameSync(file + '.completing', file);
    fs.rmSync(path.join(UPLOADS, id), {recursive: true, force: true});
    uploads.delete(id);
    const etag = `"${hash.digest('hex')}-${want.length}"`;
    xmlAnswer(req, res, '<CompleteMultipartUploadResult>' +
              `<Bucket>${esc(up.bucket)}</Bucket><Key>${esc(up.key)}</Key>` +
              `<ETag>${esc(etag)}</ETag></CompleteMultipartUploadResult>`);
}

function getObject(req, res, file) {
    let st;
    try {
        st = fs.statSync(file);
    } catch {
        return fail(req, res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    const range = req.headers.range;
    if (!range || req.method === 'HEAD') {
        return answer(req, res, 200, req.method === 'HEAD' ? '' : fs.readFileSync(file),
                      {'Content-Length': st.size, 'Accept-Ranges': 'bytes'});
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(range);
    if (!m || Number(m[1]) >= st.size)
        return fail(req, res, 416, 'InvalidRange', 'The requested range is not satisfiable');
    const a = Number(m[1]);
    const b = Math.min(m[2] ? Number(m[2]) : st.size - 1, st.size - 1);
    const buf = Buffer.alloc(b - a + 1);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, buf, 0, buf.length, a);
    fs.closeSync(fd);
    answer(req, res, 206, buf, {'Content-Range': `bytes ${a}-${b}/${st.size}`});
}

function handle(req, res, body) {
    const u = new URL(req.url, 'http://stand-in');
    const q = u.searchParams;
    const parts = u.pathname.split('/').slice(1).map(decodeURIComponent);
    const bucket = parts[0], key = parts.slice(1).join('/');
    const m = req.method;
    if (!/^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization || ''))
        return fail(req, res, 403, 'AccessDenied', 'no SigV4 Authorization header');
    const sha = req.headers['x-amz-content-sha256'];
    if (sha && sha !== 'UNSIGNED-PAYLOAD' &&
        sha !== crypto.createHash('sha256').update(body).digest('hex'))
        return fail(req, res, 400, 'XAmzContentSHA256Mismatch', 'payload hash differs');
    if (!opt.bucket.includes(bucket))
        return fail(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (!key) {
        if (m === 'HEAD' && [...q.keys()].length === 0) return answer(req, res, 200);
        return fail(req, res, 501, 'NotImplemented', 'not in this stand-in');
    }
    const file = objectFile(bucket, key);
    if (!file)
        return fail(req, res, 400, 'InvalidArgument', 'bad key');
    const id = q.get('uploadId');
    if (m === 'POST' && q.has('uploads') && [...q.keys()].length === 1) {
        const nid = crypto.randomBytes(16).toString('hex');
        uploads.set(nid, {bucket, key, parts: new Map()});
        fs.mkdirSync(path.join(UPLOADS, nid));
        return xmlAnswer(req, res, '<InitiateMultipartUploadResult>' +
                         `<Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key>` +
                         `<UploadId>${nid}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (id !== null) {
        const up = uploads.get(id);
        if (!up || up.bucket !== bucket || up.key !== key)
            return fail(req, res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
        if (m === 'PUT' && q.has('partNumber')) {
            const n = Number(q.get('partNumber'));
            if (!Number.isInteger(n) || n < 1 || n > 10000)
                return fail(req, res, 400, 'InvalidArgument', 'bad partNumber');
            if (n === failPart) {
                failPart = 0;
                return fail(req, res, 500, 'InternalError', 'stand-in: --fail-part');
            }
            const etag = `"${md5(body)}"`;
            if (n === forgetPart) {
                forgetPart = 0;
                return answer(req, res, 200, '', {ETag: etag}, 'forgotten');
            }
            fs.writeFileSync(path.join(UPLOADS, id, String(n)), body);
            up.parts.set(n, {size: body.length, etag});
            return answer(req, res, 200, '', {ETag: etag});
        }
        if (m === 'GET' && [...q.keys()].every(k => ['uploadId', 'max-parts',
                                                       'part-number-marker'].includes(k)))
            return listParts(req, res, q, up);
        if (m === 'POST' && [...q.keys()].length === 1)
            return complete(req, res, q, up, body, id);
        if (m === 'DELETE' && [...q.keys()].length === 1) {
            fs.rmSync(path.join(UPLOADS, id), {recursive: true, force: true});
            uploads.delete(id);
            return answer(req, res, 204);
        }
        return fail(req, res, 501, 'NotImplemented', 'not in this stand-in');
    }
    if ([...q.keys()].length)
        return fail(req, res, 501, 'NotImplemented', 'not in this stand-in');
    if (m === 'PUT') {
        fs.mkdirSync(path.dirname(file), {recursive: true});
        fs.writeFileSync(file, body);
        return answer(req, res, 200, '', {ETag: `"${md5(body)}"`});
    }
    if (m === 'GET' || m === 'HEAD')
        return getObject(req, res, file);
    if (m === 'DELETE') {
        fs.rmSync(file, {force: true});
        return answer(req, res, 204);
    }
    return fail(req, res, 501, 'NotImplemented', 'not in this stand-in');
}

const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://stand-in');
    if (stallPart && req.method === 'PUT' &&
        u.searchParams.get('partNumber') === String(stallPart)) {
        stallPart = 0; // once
        log(`${req.method} ${req.url} STALLED`);
        req.resume(); // read and drop the body; never answer
        return;
    }
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
        try {
            handle(req, res, Buffer.concat(chunks));
        } catch (e) {
            console.error(e);
            fail(req, res, 500, 'InternalError', String(e));
        }
    });
});
server.listen(Number(opt.port), '127.0.0.1', () =>
    console.log(`s3-listparts stand-in listens on 127.0.0.1:${opt.port}`));
