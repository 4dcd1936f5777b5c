/* One pass over a batch of comments: the model's normalised tokens, and which comments can hold
 * a link or shouting at all.
 *
 * Why C: the Python regular expressions that normalise, tokenise and pre-screen a comment cost
 * more than everything else in a batch check together (see benchmarks/speed.py). This module
 * computes exactly what moderation/scan.py's pure-Python reference computes (tests hold the two
 * equal on tricky and random text); the package falls back to that reference when this module
 * is not built.
 *
 * Normalisation (moderation.text.normalize): fold case and accents (characters above ASCII are
 * folded by calling back moderation.text._fold_char once per code point, then cached), undo
 * disguises inside words ("sh1t", "a$$", "$hit"), and make every ASCII digit "0".
 * Tokens (moderation.text.TOKEN_RE): letters/digits with inner apostrophes or stars and trailing
 * stars. Each token comes back as its comment, offsets and the 64-bit FNV-1a hash of its code
 * points, and whether a sentence ends between it and the comment's previous token.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static PyObject *fold_char_fn = NULL;
static Py_UCS4 bmp_fold[65536]; /* 0: not folded yet */

static int fold_cp(Py_UCS4 c, Py_UCS4 *out)
{
    if (c < 128) {
        *out = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 0;
    }
    if (c < 65536 && bmp_fold[c]) {
        *out = bmp_fold[c];
        return 0;
    }
    if (fold_char_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "moderation._scan: set_fold() was not called");
        return -1;
    }
    PyObject *s = PyUnicode_FromOrdinal((int)c);
    if (s == NULL)
        return -1;
    PyObject *r = PyObject_CallOneArg(fold_char_fn, s);
    Py_DECREF(s);
    if (r == NULL)
        return -1;
    if (!PyUnicode_Check(r) || PyUnicode_GET_LENGTH(r) != 1) {
        Py_DECREF(r);
        PyErr_SetString(PyExc_ValueError, "moderation._scan: the fold function must return one character");
        return -1;
    }
    Py_UCS4 f = PyUnicode_READ_CHAR(r, 0);
    Py_DECREF(r);
    if (c < 65536 && f != 0)
        bmp_fold[c] = f;
    *out = f;
    return 0;
}

static inline int is_az(Py_UCS4 c) { return c >= 'a' && c <= 'z'; }
static inline int is_09(Py_UCS4 c) { return c >= '0' && c <= '9'; }
static inline int is_leet(Py_UCS4 c)
{
    return c == '0' || c == '1' || c == '3' || c == '4' || c == '5' || c == '7' || c == '@' || c == '$' || c == '!';
}
static inline Py_UCS4 unleet_cp(Py_UCS4 c)
{
    switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '@': return 'a';
    case '$': return 's';
    case '!': return 'i';
    }
    return c;
}
/* Python's re: \w is str.isalnum() or "_", \d is a decimal digit, \s is str.isspace(). ASCII
 * answers come from a table filled from the same Unicode database at import. */
#define ASCII_ALNUM 1
#define ASCII_SPACE 2
#define ASCII_LINK 4 /* can start something may_link looks for */
#define ASCII_LEET 8 /* a leet digit or symbol (is_leet) */
#define ASCII_DIGIT 16
#define ASCII_DOLLAR 32
#define ASCII_MASK_TRIGGER 64 /* one of "* # % & ^": a word written as symbols may begin (may_mask) */
static uint8_t ascii_class[128];
static uint8_t ascii_lower[128];

static inline int is_alnum(Py_UCS4 c) { return c < 128 ? (ascii_class[c] & ASCII_ALNUM) : Py_UNICODE_ISALNUM(c); }
static inline int is_space(Py_UCS4 c) { return c < 128 ? (ascii_class[c] & ASCII_SPACE) : Py_UNICODE_ISSPACE(c); }
static inline int is_joiner(Py_UCS4 c) { return c == '*' || c == '\'' || c == 0x2019; }
/* A character a word written as symbols holds (detectors/foul.py's MASKED): "* # % & ^". */
static inline int is_mask_trigger(Py_UCS4 c) { return c == '*' || c == '#' || c == '%' || c == '&' || c == '^'; }
/* ASCII fast paths: the Unicode database calls cost more than the rest of a scan. */
static inline int is_decimal(Py_UCS4 c) { return c < 128 ? is_09(c) : Py_UNICODE_ISDECIMAL(c); }
static inline int is_upper(Py_UCS4 c) { return c < 128 ? (c >= 'A' && c <= 'Z') : Py_UNICODE_ISUPPER(c); }
static inline int is_lower(Py_UCS4 c) { return c < 128 ? is_az(c) : Py_UNICODE_ISLOWER(c); }
static inline int is_title(Py_UCS4 c) { return c < 128 ? 0 : Py_UNICODE_ISTITLE(c); }
static inline int is_alpha(Py_UCS4 c) { return c < 128 ? (is_az(c) || (c >= 'A' && c <= 'Z')) : Py_UNICODE_ISALPHA(c); }
static inline Py_UCS4 to_lower(Py_UCS4 c) { return c < 128 ? ((c >= 'A' && c <= 'Z') ? c + 32 : c) : Py_UNICODE_TOLOWER(c); }

/* Text of either kind K: 1 (ASCII, read in place) or 4 (UCS-4). Functions written with K are
 * always inlined into a wrapper per kind, where K is a constant: each kind gets its own loop, and
 * ASCII comments (most of them) are scanned without a 4-byte copy. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define CH(p, K, i) ((K) == 1 ? (Py_UCS4)((const Py_UCS1 *)(p))[(i)] : ((const Py_UCS4 *)(p))[(i)])
/* is_alnum for a character of kind K: ASCII text (kind 1) needs no range check. */
#define ALNUM_K(c, K) ((K) == 1 ? (ascii_class[(c) & 127] & ASCII_ALNUM) : is_alnum(c))
#define SET(p, K, i, v) ((K) == 1 ? (void)(((Py_UCS1 *)(p))[(i)] = (Py_UCS1)(v)) : (void)(((Py_UCS4 *)(p))[(i)] = (v)))

/* Normalise text into a (len(text) code points); the four steps match text.normalize's
 * regular expressions, each applied to the previous step's output. */
ALWAYS_INLINE int normalize_k(const void *raw, Py_ssize_t n, void *a, int K, uint8_t *seen_out)
{
    /* Most comments have no disguise character and no "$": their later passes are skipped. */
    int leet = 0, dollar = 0, digit = 0;
    uint8_t seen = 0;   /* the classes of the ASCII characters met, gathered without branching */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = CH(raw, K, i);
        if (c < 128) {
            SET(a, K, i, ascii_lower[c]);
            seen |= ascii_class[c];
        } else if (K == 1) {
            SET(a, K, i, c);   /* not reached: only ASCII text is read as kind 1 */
        } else if (fold_cp(c, &((Py_UCS4 *)a)[i]) < 0) {
            return -1;
        } else if (CH(a, K, i) < 128) {
            /* a character that folds to ASCII ("Ｓ" to "s", say) may be a digit or disguise */
            leet = 1;
            dollar = 1;
            digit = 1;
        }
    }
    if (seen_out != NULL)
        *seen_out = seen;   /* what the scan's later passes may skip */
    leet |= (seen & ASCII_LEET) != 0;
    dollar |= (seen & ASCII_DOLLAR) != 0;
    digit |= (seen & ASCII_DIGIT) != 0;
    if (!leet && !digit)
        return 0;
    if (!leet)
        goto digits;
    /* (?<![\w@.])@(?=[$s]{2}): "@" for "a" starting "@$$", "@sshole" (not a handle). */
    for (Py_ssize_t i = 0; i + 2 < n; i++) {
        if (CH(a, K, i) != '@')
            continue;
        Py_UCS4 before = i > 0 ? CH(a, K, i - 1) : ' ';
        Py_UCS4 n1 = CH(a, K, i + 1), n2 = CH(a, K, i + 2);
        if (!(is_alnum(before) || before == '_' || before == '@' || before == '.') && (n1 == '$' || n1 == 's') &&
            (n2 == '$' || n2 == 's'))
            SET(a, K, i, 'a');
    }
    /* (?<=[a-z])[013457@$!]+(?=[a-z]): whole runs with a letter on each side. */
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_leet(CH(a, K, i))) {
            i++;
            continue;
        }
        Py_ssize_t j = i;
        while (j < n && is_leet(CH(a, K, j)))
            j++;
        if (i > 0 && is_az(CH(a, K, i - 1)) && j < n && is_az(CH(a, K, j)))
            for (Py_ssize_t k = i; k < j; k++)
                SET(a, K, k, unleet_cp(CH(a, K, k)));
        i = j;
    }
    if (!dollar)
        goto digits;
    /* (?<=[a-z])\$+(?![a-z0-9]): greedy, so a run before a letter or digit loses its last "$". */
    for (Py_ssize_t i = 0; i < n;) {
        if (CH(a, K, i) != '$') {
            i++;
            continue;
        }
        Py_ssize_t j = i;
        while (j < n && CH(a, K, j) == '$')
            j++;
        if (i > 0 && is_az(CH(a, K, i - 1))) {
            Py_ssize_t stop = (j < n && (is_az(CH(a, K, j)) || is_09(CH(a, K, j)))) ? j - 1 : j;
            for (Py_ssize_t k = i; k < stop; k++)
                SET(a, K, k, 's');
        }
        i = j;
    }
    /* (?<![a-z0-9])\$(?=[a-z]{2}) */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (CH(a, K, i) == '$' && !(i > 0 && (is_az(CH(a, K, i - 1)) || is_09(CH(a, K, i - 1)))) && i + 2 < n &&
            is_az(CH(a, K, i + 1)) && is_az(CH(a, K, i + 2)))
            SET(a, K, i, 's');
    }
digits:
    if (digit)
        for (Py_ssize_t i = 0; i < n; i++)
            if (is_09(CH(a, K, i)))
                SET(a, K, i, '0');
    return 0;
}

static int normalize_into(const Py_UCS4 *raw, Py_ssize_t n, Py_UCS4 *a, uint8_t *seen) { return normalize_k(raw, n, a, 4, seen); }
static int normalize_ascii(const Py_UCS1 *raw, Py_ssize_t n, Py_UCS1 *a, uint8_t *seen) { return normalize_k(raw, n, a, 1, seen); }

/* An output array built in place in a bytes object (grown by resizing it), so handing it to
 * Python copies nothing. */
typedef struct {
    PyObject *obj;
    char *data;
    Py_ssize_t size, cap;
} Buf;

/* Room for `size` more bytes, so the appends that follow need no check. */
static int buf_reserve(Buf *b, Py_ssize_t size)
{
    if (b->size + size <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->size + size)
        cap *= 2;
    if (b->obj == NULL) {
        b->obj = PyBytes_FromStringAndSize(NULL, cap);
        if (b->obj == NULL)
            return -1;
    } else if (_PyBytes_Resize(&b->obj, cap) < 0) {
        return -1;   /* b->obj is released and NULL */
    }
    b->data = PyBytes_AS_STRING(b->obj);
    b->cap = cap;
    return 0;
}

static void buf_free(Buf *b)
{
    Py_CLEAR(b->obj);
}

static int buf_put(Buf *b, const void *item, Py_ssize_t size)
{
    if (buf_reserve(b, size) < 0)
        return -1;
    memcpy(b->data + b->size, item, size);
    b->size += size;
    return 0;
}

#define BUF_APPEND(b, type, value) (*(type *)((b)->data + (b)->size) = (value), (b)->size += sizeof(type))

/* FNV-1a over code points: moderation.scan.token_hash. */
ALWAYS_INLINE uint64_t fnv1a_k(const void *p, Py_ssize_t from, Py_ssize_t n, int K)
{
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t k = from; k < from + n; k++) {
        h ^= (uint64_t)CH(p, K, k);
        h *= FNV_PRIME;
    }
    return h;
}
static inline uint64_t fnv1a(const Py_UCS4 *p, Py_ssize_t n) { return fnv1a_k(p, 0, n, 4); }

/* Append (owner, hash) for every n-gram, low <= n <= high, of padded[0:size], in
 * features.char_ngrams order (by size, then by position). */
static int put_grams(Buf *owner, Buf *hash, const Py_UCS4 *padded, Py_ssize_t size, int low, int high, int32_t o)
{
    for (Py_ssize_t g = low; g <= high && g <= size; g++) {
        for (Py_ssize_t i = 0; i + g <= size; i++) {
            uint64_t h = fnv1a(padded + i, g);
            if (buf_put(owner, &o, 4) < 0 || buf_put(hash, &h, 8) < 0)
                return -1;
        }
    }
    return 0;
}

/* put_grams of word[0:n] padded with a space each side, in the scratch buffer *pad (grown as needed). */
static int put_word_grams(Buf *owner, Buf *hash, Py_UCS4 **pad, Py_ssize_t *pad_cap, const Py_UCS4 *word,
                          Py_ssize_t n, int low, int high, int32_t o)
{
    Py_ssize_t size = n + 2;
    if (size > *pad_cap) {
        *pad_cap = size * 2;
        PyMem_Free(*pad);
        *pad = PyMem_Malloc(sizeof(Py_UCS4) * *pad_cap);
        if (*pad == NULL) {
            *pad_cap = 0;
            PyErr_NoMemory();
            return -1;
        }
    }
    (*pad)[0] = ' ';
    (*pad)[size - 1] = ' ';
    memcpy(*pad + 1, word, sizeof(Py_UCS4) * n);
    return put_grams(owner, hash, *pad, size, low, high, o);
}

/* The finished array (a new reference; the Buf is left empty). */
static PyObject *buf_bytes(Buf *b)
{
    if (b->obj == NULL)
        return PyBytes_FromStringAndSize("", 0);
    PyObject *out = b->obj;
    b->obj = NULL;
    b->data = NULL;
    b->cap = 0;
    if (_PyBytes_Resize(&out, b->size) < 0)
        return NULL;
    return out;
}

/* Whether raw[j:] starts with a listed top-level domain that ends there: _BARE_URL's
 * (?P<tld>...)(?![\w-]). -1 on error. */
ALWAYS_INLINE int tld_at(const void *raw, int K, Py_ssize_t n, Py_ssize_t j, PyObject *text, PyObject *tlds)
{
    Py_ssize_t k = j;
    int lower = 1;
    while (k < n && (is_alnum(CH(raw, K, k)) || CH(raw, K, k) == '_' || CH(raw, K, k) == '-')) {
        if (!is_az(CH(raw, K, k)))
            lower = 0;
        k++;
    }
    if (!lower || k - j < 2 || k - j > 16)
        return 0;
    PyObject *tld = PyUnicode_Substring(text, j, k);
    if (tld == NULL)
        return -1;
    int found = PySet_Contains(tlds, tld);
    Py_DECREF(tld);
    return found;
}

static inline int is_ascii_alnum(Py_UCS4 c) { return is_az(c) || is_09(c) || (c >= 'A' && c <= 'Z'); }

ALWAYS_INLINE Py_ssize_t skip_space(const void *raw, int K, Py_ssize_t n, Py_ssize_t j)
{
    while (j < n && is_space(CH(raw, K, j)))
        j++;
    return j;
}

/* A link (find_links) needs "//" or "www" (schemes and www. addresses), or a separator right
 * before a listed top-level domain: a dot after a letter or digit, or a disguised dot ("[.]",
 * "(dot)", " dot ", " . "). Without any of them find_links finds nothing. */
ALWAYS_INLINE int may_link(const void *raw, int K, Py_ssize_t n, PyObject *text, PyObject *tlds)
{
#define AT(i) CH(raw, K, (i))
#define LOW(c) (((c) >= 'A' && (c) <= 'Z') ? (c) + 32 : (c))
    /* Every trigger is found at an ASCII character of ASCII_LINK ("/ w W . [ ( { d D"); a disguised
     * dot after a space (" . ", " dot ") is found at its dot or its "d", looking back at the space,
     * so spaces and most letters are passed over by one table lookup. */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = AT(i);
        int found = 0;
        if ((K != 1 && c >= 128) || !(ascii_class[c & 127] & ASCII_LINK))
            continue;
        if (c == '/') {
            if (i + 1 < n && AT(i + 1) == '/')
                return 1;
        } else if (c == 'w' || c == 'W') {
            if (i + 2 < n && LOW(AT(i + 1)) == 'w' && LOW(AT(i + 2)) == 'w')
                return 1;
        } else if (c == '.') {
            if (i > 0 && is_ascii_alnum(AT(i - 1)))
                found = tld_at(raw, K, n, i + 1, text, tlds);
            else if (i > 0 && is_space(AT(i - 1)) && i + 1 < n && is_space(AT(i + 1)))
                found = tld_at(raw, K, n, skip_space(raw, K, n, i + 1), text, tlds);
        } else if (c == 'd' || c == 'D') {
            if (i > 0 && i + 3 < n && is_space(AT(i - 1)) &&
                ((c == 'd' && AT(i + 1) == 'o' && AT(i + 2) == 't') || (c == 'D' && AT(i + 1) == 'O' && AT(i + 2) == 'T')) &&
                is_space(AT(i + 3)))
                found = tld_at(raw, K, n, skip_space(raw, K, n, i + 3), text, tlds);
        } else { /* [ ( { */
            Py_UCS4 close = c == '[' ? ']' : (c == '(' ? ')' : '}');
            Py_ssize_t j = skip_space(raw, K, n, i + 1);
            if (j < n && AT(j) == '.')
                j += 1;
            else if (j + 2 < n && ((AT(j) == 'd' && AT(j + 1) == 'o' && AT(j + 2) == 't') ||
                                   (AT(j) == 'D' && AT(j + 1) == 'O' && AT(j + 2) == 'T')))
                j += 3;
            else
                continue;
            j = skip_space(raw, K, n, j);
            if (j < n && AT(j) == close)
                found = tld_at(raw, K, n, skip_space(raw, K, n, j + 1), text, tlds);
        }
        if (found)
            return found; /* 1, or -1 on error */
    }
    return 0;
#undef AT
#undef LOW
}

/* Whether a text may hold a word written as symbols: detectors/foul.py's MASKED needs a run of
 * three or more of "* # @ $ % & ^ !" holding one of "* # % & ^"; the other texts are not searched
 * (a text with a "#" or "&" alone, a wiki link or "Q&A", used to be). */
ALWAYS_INLINE int may_mask(const void *raw, int K, Py_ssize_t n)
{
    Py_ssize_t run = 0;
    int trigger = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = CH(raw, K, i);
        if (is_mask_trigger(c)) {
            trigger = 1;
        } else if (!(c == '@' || c == '$' || c == '!')) {
            run = 0;
            trigger = 0;
            continue;
        }
        if (++run >= 3 && trigger)
            return 1;
    }
    return 0;
}

/* Shouting needs a run of three "!"/"?", a letter three times in a row, or two capitalised words
 * that measure_volume could count (3+ letters, and 5+ letters or a capitalised neighbour): without
 * any of them its score is 0. */
ALWAYS_INLINE int may_shout(const void *raw, int K, Py_ssize_t n)
{
#define AT(i) CH(raw, K, (i))
    int run = 0, ascii = 1;
    Py_ssize_t capital_pairs = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = AT(i);
        if (c < 128) {
            /* Most characters are lower-case letters and spaces: one comparison each below. */
            if (c == '!' || c == '?') {
                if (++run >= 3)
                    return 1;
            } else {
                run = 0;
                if (c >= 'A' && c <= 'Z' && i + 1 < n &&
                    ((AT(i + 1) >= 'A' && AT(i + 1) <= 'Z') || AT(i + 1) == '\'' || AT(i + 1) == 0x2019))
                    capital_pairs++;
            }
        } else {
            if (c == 0x203c || (c >= 0x2047 && c <= 0x2049)) {
                if (++run >= 3)
                    return 1;
            } else {
                run = 0;
            }
            if (ascii && is_alnum(c))
                ascii = 0;
        }
        if (i >= 2 && c == AT(i - 1) && c == AT(i - 2) && ALNUM_K(c, K) && !is_decimal(c))
            return 1;
    }
    /* In text whose letters and digits are all ASCII, a word that can count as shouting has 3+
     * capitals with at most apostrophes between them: two such words need at least two capitals
     * followed by a capital or an apostrophe. */
    if (ascii && capital_pairs < 2)
        return 0;
    /* Words as measure_volume's _WORD finds them, skipping @mentions and #tags. */
    int prev_caps = 0, prev_candidate = 0, candidates = 0;
    Py_ssize_t i = 0;
#define LETTER(c) (is_alnum(c) && !is_decimal(c))
    while (i < n) {
        Py_UCS4 c = AT(i);
        if (!LETTER(c)) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int letters = 0, upper = 0, lower = 0;
        for (;;) {
            while (i < n && LETTER(AT(i))) {
                Py_UCS4 d = AT(i);
                letters++;
                if (is_upper(d))
                    upper = 1;
                if (is_lower(d))
                    lower = 1;
                i++;
            }
            if (i + 1 < n && (AT(i) == '\'' || AT(i) == 0x2019) && LETTER(AT(i + 1))) {
                i++;
                continue;
            }
            break;
        }
        if (start > 0 && (AT(start - 1) == '@' || AT(start - 1) == '#'))
            continue;
        int caps = upper && !lower && letters >= 2;
        if (prev_candidate == 1 && caps)
            candidates++; /* the previous word's run partner arrived */
        int candidate = caps && letters >= 3 && (letters >= 5 || prev_caps);
        if (candidate)
            candidates++;
        /* a 3-4 letter capitalised word with no capitalised word before may still pair with the next */
        prev_candidate = (caps && letters >= 3 && !candidate) ? 1 : 0;
        prev_caps = caps;
        if (candidates >= 2)
            return 1;
    }
    return 0;
#undef LETTER
#undef AT
#undef LOW
}

/* measure_volume(text, acronyms, acronyms_cased) -> (score, caps_share, punctuation_runs,
 * stretched_words, spans) with spans [(start, end, kind)] in measure_volume's order before its
 * final sort (kind 0: shouted run, 1: punctuation run, 2: stretched word). The same rules as
 * moderation.signals.measure_volume, which documents them; tests hold the two equal. */
typedef struct {
    Py_ssize_t start, end;
    int letters, upper_letters, isupper, caps, distinct_gt1, roman, stretched, acronym;
} Word;

static inline int is_roman(Py_UCS4 c)
{
    switch (c) {
    case 'i': case 'v': case 'x': case 'l': case 'c': case 'd': case 'm':
    case 'I': case 'V': case 'X': case 'L': case 'C': case 'D': case 'M':
    case 0x130: case 0x131:
        return 1;
    }
    return 0;
}

static inline int is_punct_run_char(Py_UCS4 c) { return c == '!' || c == '?' || c == 0x203c || (c >= 0x2047 && c <= 0x2049); }

static PyObject *py_measure_volume(PyObject *self, PyObject *args)
{
    PyObject *text, *acronyms;
    int acronyms_cased;
    if (!PyArg_ParseTuple(args, "UO!p", &text, &PySet_Type, &acronyms, &acronyms_cased))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
#define AT(i) PyUnicode_READ(kind, data, (i))
#define LETTER(c) (is_alnum(c) && !is_decimal(c))
    Py_ssize_t cap = 16, count = 0;
    Word *words = PyMem_Malloc(sizeof(Word) * cap);
    PyObject *spans = PyList_New(0);
    if (words == NULL || spans == NULL) {
        PyMem_Free(words);
        Py_XDECREF(spans);
        return PyErr_NoMemory();
    }
    Py_ssize_t i = 0;
    while (i < n) {
        if (!LETTER(AT(i))) {
            i++;
            continue;
        }
        Word w = {0};
        w.start = i;
        int cased = 0, notupper = 0, all_roman = 1, has_130 = 0;
        Py_UCS4 first = AT(i), first_lower = to_lower(AT(i));
        int all_w = 1, run = 0, stretch = 0;
        Py_UCS4 prev = 0;
        for (;;) {
            while (i < n && LETTER(AT(i))) {
                Py_UCS4 c = AT(i);
                if (is_alpha(c))
                    w.letters++;
                if (is_upper(c)) {
                    w.upper_letters++;
                    cased = 1;
                }
                if (is_lower(c) || is_title(c))
                    notupper = 1;
                if (c != first)
                    w.distinct_gt1 = 1;
                if (to_lower(c) != first_lower)
                    w.stretched = 1; /* provisional: "more than one lower-cased character" */
                if (!is_roman(c))
                    all_roman = 0;
                if (c == 0x130)
                    has_130 = 1;
                if (to_lower(c) != 'w')
                    all_w = 0;
                run = (c == prev) ? run + 1 : 1;
                if (run >= 3)
                    stretch = 1;
                prev = c;
                i++;
            }
            if (i + 1 < n && (AT(i) == '\'' || AT(i) == 0x2019) && LETTER(AT(i + 1))) {
                if (AT(i) != first)
                    w.distinct_gt1 = 1;
                if (AT(i) != first_lower)
                    w.stretched = 1;
                all_roman = 0;
                all_w = 0;
                prev = AT(i);
                run = 1;
                i++;
                continue;
            }
            break;
        }
        w.end = i;
        if (w.start > 0 && (AT(w.start - 1) == '@' || AT(w.start - 1) == '#'))
            continue;
        w.isupper = cased && !notupper;
        w.roman = all_roman;
        int lower_distinct = w.stretched || has_130;
        w.stretched = stretch && lower_distinct && !all_roman && !(all_w && w.end - w.start == 3);
        w.acronym = 0;
        if (w.letters >= 2 && (w.isupper || acronyms_cased || !notupper)) {
            PyObject *sub = PyUnicode_Substring(text, w.start, w.end);
            int found = sub ? PySet_Contains(acronyms, sub) : -1;
            Py_XDECREF(sub);
            if (found < 0)
                goto fail;
            w.acronym = found;
        }
        w.caps = w.isupper && w.letters >= 2 && !w.acronym && !w.roman && w.distinct_gt1;
        if (count == cap) {
            cap *= 2;
            Word *more = PyMem_Realloc(words, sizeof(Word) * cap);
            if (more == NULL) {
                PyErr_NoMemory();
                goto fail;
            }
            words = more;
        }
        words[count++] = w;
    }
    {
        Py_ssize_t shouted = 0, total_letters = 0, shouted_letters = 0, stretched = 0, punct = 0;
        for (Py_ssize_t k = 0; k < count; k++) {
            Word *w = &words[k];
            if (w->letters >= 3 && !w->acronym)
                total_letters += w->letters;
        }
        for (Py_ssize_t k = 0; k < count; k++) {
            Word *w = &words[k];
            int in_run = (k > 0 && words[k - 1].caps) || (k + 1 < count && words[k + 1].caps);
            if (w->caps && w->letters >= 3 && (in_run || w->letters > 4))
                shouted++;
        }
        /* Shouted runs: adjacent shouted words joined when the gap is short, on one line and has no
         * lower-case letter. */
        Py_ssize_t run_start = -1, run_end = -1;
        if (shouted >= 2) {
            for (Py_ssize_t k = 0; k < count; k++) {
                Word *w = &words[k];
                int in_run = (k > 0 && words[k - 1].caps) || (k + 1 < count && words[k + 1].caps);
                if (!(w->caps && w->letters >= 3 && (in_run || w->letters > 4)))
                    continue;
                shouted_letters += w->upper_letters;
                if (run_end >= 0 && w->start - run_end <= 12) {
                    int joinable = 1;
                    for (Py_ssize_t g = run_end; g < w->start; g++) {
                        Py_UCS4 c = AT(g);
                        if (c == '\n' || is_lower(c)) {
                            joinable = 0;
                            break;
                        }
                    }
                    if (joinable) {
                        run_end = w->end;
                        continue;
                    }
                }
                if (run_start >= 0) {
                    PyObject *t = Py_BuildValue("(nni)", run_start, run_end, 0);
                    if (t == NULL || PyList_Append(spans, t) < 0) {
                        Py_XDECREF(t);
                        goto fail;
                    }
                    Py_DECREF(t);
                }
                run_start = w->start;
                run_end = w->end;
            }
            if (run_start >= 0) {
                PyObject *t = Py_BuildValue("(nni)", run_start, run_end, 0);
                if (t == NULL || PyList_Append(spans, t) < 0) {
                    Py_XDECREF(t);
                    goto fail;
                }
                Py_DECREF(t);
            }
        }
        for (Py_ssize_t k = 0; k < n;) {
            if (!is_punct_run_char(AT(k))) {
                k++;
                continue;
            }
            Py_ssize_t j = k;
            while (j < n && is_punct_run_char(AT(j)))
                j++;
            if (j - k >= 3) {
                punct++;
                PyObject *t = Py_BuildValue("(nni)", k, j, 1);
                if (t == NULL || PyList_Append(spans, t) < 0) {
                    Py_XDECREF(t);
                    goto fail;
                }
                Py_DECREF(t);
            }
            k = j;
        }
        for (Py_ssize_t k = 0; k < count; k++) {
            if (!words[k].stretched)
                continue;
            stretched++;
            PyObject *t = Py_BuildValue("(nni)", words[k].start, words[k].end, 2);
            if (t == NULL || PyList_Append(spans, t) < 0) {
                Py_XDECREF(t);
                goto fail;
            }
            Py_DECREF(t);
        }
        double caps_share = total_letters ? (double)shouted_letters / (double)total_letters : 0.0;
        double score = 1.0 - (1.0 - caps_share) * pow(0.5, (double)(punct + stretched));
        if (score > 1.0)
            score = 1.0;
        if (score < 0.0)
            score = 0.0;
        PyMem_Free(words);
        return Py_BuildValue("(ddnnN)", score, caps_share, punct, stretched, spans);
    }
fail:
    PyMem_Free(words);
    Py_DECREF(spans);
    return NULL;
#undef AT
#undef LETTER
}

/* grams(words, low, high) -> (owner int32, hash uint64) as bytes: the FNV-1a hash of every
 * character n-gram (low <= n <= high) of each word padded with spaces, as features.char_ngrams
 * lists them. */
static PyObject *py_grams(PyObject *self, PyObject *args)
{
    PyObject *words;
    int low, high;
    if (!PyArg_ParseTuple(args, "O!ii", &PyList_Type, &words, &low, &high))
        return NULL;
    Buf owner = {0}, hash = {0};
    Py_UCS4 *a = NULL;
    Py_ssize_t cap = 0;
    PyObject *result = NULL;
    for (Py_ssize_t w = 0; w < PyList_GET_SIZE(words); w++) {
        PyObject *word = PyList_GET_ITEM(words, w);
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "grams needs a list of str");
            goto done;
        }
        Py_UCS4 *chars = PyUnicode_AsUCS4Copy(word);
        if (chars == NULL)
            goto done;
        int failed = put_word_grams(&owner, &hash, &a, &cap, chars, PyUnicode_GET_LENGTH(word), low, high, (int32_t)w);
        PyMem_Free(chars);
        if (failed)
            goto done;
    }
    result = Py_BuildValue("(NN)", buf_bytes(&owner), buf_bytes(&hash));
done:
    PyMem_Free(a);
    buf_free(&owner);
    buf_free(&hash);
    return result;
}

/* probe(slots, shift, queries) -> positions (int64 bytes): HashIndex.lookup. slots is the
 * open-addressing table, (key, position + 1) per slot, 0 marking an empty slot; a query's first
 * slot is (query * 0x9E3779B97F4A7C15) >> shift, then the next slots in turn. */
static PyObject *py_probe(PyObject *self, PyObject *args)
{
    Py_buffer slots, queries;
    unsigned int shift;
    if (!PyArg_ParseTuple(args, "y*Iy*", &slots, &shift, &queries))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t size = slots.len / 16, count = queries.len / 8;
    if (size == 0 || (size & (size - 1)) != 0 || shift < 1 || shift > 63 || ((uint64_t)1 << (64 - shift)) != (uint64_t)size) {
        PyErr_SetString(PyExc_ValueError, "probe: the table must have 2 ** (64 - shift) slots");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, count * 8);
    if (out == NULL)
        goto done;
    {
        const uint64_t *t = slots.buf, *q = queries.buf;
        int64_t *r = (int64_t *)PyBytes_AS_STRING(out);
        uint64_t mask = (uint64_t)size - 1;
        /* Each query's slot is fetched some queries ahead: the table is larger than the caches. */
        enum { AHEAD = 16 };
        for (Py_ssize_t i = 0; i < count && i < AHEAD; i++)
            __builtin_prefetch(t + 2 * ((q[i] * 0x9E3779B97F4A7C15ULL) >> shift));
        for (Py_ssize_t i = 0; i < count; i++) {
            if (i + AHEAD < count)
                __builtin_prefetch(t + 2 * ((q[i + AHEAD] * 0x9E3779B97F4A7C15ULL) >> shift));
            uint64_t slot = (q[i] * 0x9E3779B97F4A7C15ULL) >> shift;
            int64_t found = -1;
            while (t[2 * slot + 1]) {
                if (t[2 * slot] == q[i]) {
                    found = (int64_t)t[2 * slot + 1] - 1;
                    break;
                }
                slot = (slot + 1) & mask;
            }
            r[i] = found;
        }
    }
done:
    PyBuffer_Release(&slots);
    PyBuffer_Release(&queries);
    return out;
}

/* Normalise text into *buf (grown as needed; *cap is its capacity in code points, the raw text
 * being kept in its second half) and return the raw code points, or NULL with an exception set;
 * *seen (when not NULL) gets the classes of the ASCII characters met. */
static const Py_UCS4 *load_normalized(PyObject *text, Py_UCS4 **buf, Py_ssize_t *cap, uint8_t *seen)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n + 1 > *cap) {
        *cap = (n + 1) * 2;
        PyMem_Free(*buf);
        *buf = PyMem_Malloc(sizeof(Py_UCS4) * *cap * 2);
        if (*buf == NULL) {
            *cap = 0;
            PyErr_NoMemory();
            return NULL;
        }
    }
    Py_UCS4 *raw = *buf + *cap;
    if (n && PyUnicode_AsUCS4(text, raw, *cap, 0) == NULL)
        return NULL;
    if (normalize_into(raw, n, *buf, seen) < 0)
        return NULL;
    return raw;
}

/* grams_at(texts, doc, start, end, low, high) -> (owner int32, hash uint64) as bytes: grams() of the
 * normalised tokens texts[doc[i]][start[i]:end[i]] (doc ascending), without building the strings. */
static PyObject *py_grams_at(PyObject *self, PyObject *args)
{
    PyObject *texts;
    Py_buffer doc, start, end;
    int low, high;
    if (!PyArg_ParseTuple(args, "O!y*y*y*ii", &PyList_Type, &texts, &doc, &start, &end, &low, &high))
        return NULL;
    Buf owner = {0}, hash = {0};
    Py_UCS4 *a = NULL, *w = NULL;
    Py_ssize_t cap = 0, wcap = 0, current = -1;
    PyObject *result = NULL;
    const int64_t *d = doc.buf, *s0 = start.buf, *e0 = end.buf;
    Py_ssize_t count = doc.len / 8;
    if (start.len != doc.len || end.len != doc.len) {
        PyErr_SetString(PyExc_ValueError, "grams_at: doc, start and end differ in length");
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (d[i] < 0 || d[i] >= PyList_GET_SIZE(texts)) {
            PyErr_SetString(PyExc_IndexError, "grams_at: comment index out of range");
            goto done;
        }
        PyObject *text = PyList_GET_ITEM(texts, d[i]);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "grams_at needs a list of str");
            goto done;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        if (d[i] != current) {
            if (load_normalized(text, &a, &cap, NULL) == NULL)
                goto done;
            current = d[i];
        }
        if (s0[i] < 0 || e0[i] > n || s0[i] > e0[i]) {
            PyErr_SetString(PyExc_IndexError, "grams_at: token span out of range");
            goto done;
        }
        if (put_word_grams(&owner, &hash, &w, &wcap, a + s0[i], e0[i] - s0[i], low, high, (int32_t)i) < 0)
            goto done;
    }
    result = Py_BuildValue("(NN)", buf_bytes(&owner), buf_bytes(&hash));
done:
    PyMem_Free(a);
    PyMem_Free(w);
    buf_free(&owner);
    buf_free(&hash);
    PyBuffer_Release(&doc);
    PyBuffer_Release(&start);
    PyBuffer_Release(&end);
    return result;
}

static PyObject *py_set_fold(PyObject *self, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "set_fold needs a callable");
        return NULL;
    }
    Py_XDECREF(fold_char_fn);
    Py_INCREF(fn);
    fold_char_fn = fn;
    memset(bmp_fold, 0, sizeof(bmp_fold));
    Py_RETURN_NONE;
}

static PyObject *py_normalize(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "normalize needs a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_UCS4 *a = PyMem_Malloc(sizeof(Py_UCS4) * (2 * n + 1));
    if (a == NULL)
        return PyErr_NoMemory();
    PyObject *out = NULL;
    Py_UCS4 *raw = a + n;
    if ((n == 0 || PyUnicode_AsUCS4(text, raw, n + 1, 0) != NULL) && normalize_into(raw, n, a, NULL) == 0)
        out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, a, n);
    PyMem_Free(a);
    return out;
}

/* One comment's tokens appended to the buffers, and its flags (see scan). */
ALWAYS_INLINE int scan_text(const void *raw, const void *a, int K, Py_ssize_t n, Py_ssize_t d, Buf *doc, Buf *start,
                            Buf *end, Buf *hash, Buf *brk, Buf *marks, uint8_t *flag, PyObject *text, PyObject *tlds,
                            uint8_t seen)
{
    int32_t d32 = (int32_t)d;
    Py_ssize_t i = 0, prev_end = -1;
    /* A text of n characters has at most (n + 1) / 2 tokens. */
    Py_ssize_t most = (n + 1) / 2 + 1;
    if (buf_reserve(doc, 4 * most) < 0 || buf_reserve(start, 4 * most) < 0 || buf_reserve(end, 4 * most) < 0 ||
        buf_reserve(hash, 8 * most) < 0 || buf_reserve(brk, most) < 0 || buf_reserve(marks, most) < 0)
        return -1;
    /* Appends through local pointers: a write through a byte pointer may alias anything, so
     * appending through the buffers would reload every pointer and size after each store. */
    int32_t *restrict p_doc = (int32_t *)(doc->data + doc->size), *restrict p_start = (int32_t *)(start->data + start->size),
                      *restrict p_end = (int32_t *)(end->data + end->size);
    uint64_t *restrict p_hash = (uint64_t *)(hash->data + hash->size);
    uint8_t *restrict p_brk = (uint8_t *)(brk->data + brk->size), *restrict p_marks = (uint8_t *)(marks->data + marks->size);
    Py_ssize_t t = 0;
    while (i < n) {
        if (!ALNUM_K(CH(a, K, i), K)) {
            i++;
            continue;
        }
        Py_ssize_t s = i;
        while (i < n && ALNUM_K(CH(a, K, i), K))
            i++;
        for (;;) {
            Py_ssize_t j = i;
            while (j < n && is_joiner(CH(a, K, j)))
                j++;
            if (j > i && j < n && ALNUM_K(CH(a, K, j), K)) {
                i = j;
                while (i < n && ALNUM_K(CH(a, K, i), K))
                    i++;
                continue;
            }
            break;
        }
        while (i < n && CH(a, K, i) == '*')
            i++;
        uint64_t h = fnv1a_k(a, s, i - s, K);
        /* A sentence ends in the gap: a newline, or . ! ? or an ellipsis followed by space. */
        uint8_t b = 0;
        if (prev_end >= 0) {
            for (Py_ssize_t k = prev_end; k < s; k++)
                if (CH(a, K, k) == '?') {
                    p_marks[t - 1] |= 2; /* a question mark after the previous token */
                    break;
                }
            for (Py_ssize_t k = prev_end; k < s && !b; k++) {
                Py_UCS4 c = CH(a, K, k);
                if (c == '\n')
                    b = 1;
                else if ((c == '.' || c == '!' || c == '?' || c == 0x2026) && k + 1 < s && is_space(CH(a, K, k + 1)))
                    b = 1;
            }
        }
        p_doc[t] = d32;
        p_start[t] = (int32_t)s;
        p_end[t] = (int32_t)i;
        p_hash[t] = h;
        p_brk[t] = b;
        p_marks[t] = (uint8_t)(is_upper(CH(raw, K, s)) ? 1 : 0);
        t++;
        prev_end = i;
    }
    if (prev_end >= 0)
        for (Py_ssize_t k = prev_end; k < n; k++)
            if (CH(a, K, k) == '?') {
                p_marks[t - 1] |= 2;
                break;
            }
    doc->size += 4 * t;
    start->size += 4 * t;
    end->size += 4 * t;
    hash->size += 8 * t;
    brk->size += t;
    marks->size += t;
    int link = may_link(raw, K, n, text, tlds);
    if (link < 0)
        return -1;
    *flag = (uint8_t)((link ? 1 : 0) | (may_shout(raw, K, n) ? 2 : 0) | ((seen & ASCII_MASK_TRIGGER) && may_mask(raw, K, n) ? 4 : 0));
    return 0;
}
static int scan_text_4(const Py_UCS4 *raw, const Py_UCS4 *a, Py_ssize_t n, Py_ssize_t d, Buf *doc, Buf *start, Buf *end,
                       Buf *hash, Buf *brk, Buf *marks, uint8_t *flag, PyObject *text, PyObject *tlds, uint8_t seen)
{
    return scan_text(raw, a, 4, n, d, doc, start, end, hash, brk, marks, flag, text, tlds, seen);
}
static int scan_text_1(const Py_UCS1 *raw, const Py_UCS1 *a, Py_ssize_t n, Py_ssize_t d, Buf *doc, Buf *start, Buf *end,
                       Buf *hash, Buf *brk, Buf *marks, uint8_t *flag, PyObject *text, PyObject *tlds, uint8_t seen)
{
    return scan_text(raw, a, 1, n, d, doc, start, end, hash, brk, marks, flag, text, tlds, seen);
}

/* scan(texts, tlds) -> (doc int32, start int32, end int32, hash uint64, brk uint8, flags uint8,
 * marks uint8) as bytes: one entry per token, one flag byte per text (1: may hold a link, 2: may
 * shout, 4: may hold a word written as symbols), then one mark byte per token (1: its first character is a capital as written, 2: a
 * question mark follows it before the next token or the end of the text). */
static PyObject *py_scan(PyObject *self, PyObject *args)
{
    PyObject *texts, *tlds;
    if (!PyArg_ParseTuple(args, "O!O!", &PyList_Type, &texts, &PySet_Type, &tlds))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(texts);
    Buf doc = {0}, start = {0}, end = {0}, hash = {0}, brk = {0}, marks = {0}, flags = {0};
    Py_UCS4 *a = NULL;
    Py_UCS1 *a8 = NULL;
    Py_ssize_t cap = 0, cap8 = 0;
    PyObject *result = NULL;
    for (Py_ssize_t d = 0; d < count; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "comment #%zd is not a str", d + 1);
            goto done;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        uint8_t f, seen = 0;
        int failed;
        if (PyUnicode_IS_ASCII(text)) {
            /* Read in place; the normalised copy is one byte a character. */
            if (n + 1 > cap8) {
                PyMem_Free(a8);
                cap8 = 2 * (n + 1);
                a8 = PyMem_Malloc(cap8);
                if (a8 == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
            }
            const Py_UCS1 *raw = PyUnicode_1BYTE_DATA(text);
            normalize_ascii(raw, n, a8, &seen);
            failed = scan_text_1(raw, a8, n, d, &doc, &start, &end, &hash, &brk, &marks, &f, text, tlds, seen);
        } else {
            const Py_UCS4 *raw = load_normalized(text, &a, &cap, &seen);
            if (raw == NULL)
                goto done;
            failed = scan_text_4(raw, a, n, d, &doc, &start, &end, &hash, &brk, &marks, &f, text, tlds, seen);
        }
        if (failed)
            goto done;
        if (buf_put(&flags, &f, 1) < 0)
            goto done;
    }
    result = Py_BuildValue("(NNNNNNN)", buf_bytes(&doc), buf_bytes(&start), buf_bytes(&end), buf_bytes(&hash),
                           buf_bytes(&brk), buf_bytes(&flags), buf_bytes(&marks));
done:
    PyMem_Free(a);
    PyMem_Free(a8);
    buf_free(&doc);
    buf_free(&start);
    buf_free(&end);
    buf_free(&hash);
    buf_free(&brk);
    buf_free(&marks);
    buf_free(&flags);
    return result;
}


/* screen(texts) -> flags (uint8 per text), what moderation.normaliser may have to undo:
 * 1: a character above ASCII; 2: three single letters spaced apart ("f u c k": a letter not after a
 * word character, then twice 1-3 of " .-_\n\r\t" and a letter not before a word character) or dotted capitals
 * ("W.A."); 4: a mask beside a letter (a letter next to # @ % _ or a dash U+2013/U+2014, "--"
 * next to a word character, a capital X next to a lower-case letter, "f-", "a-" or "d-" before a
 * letter and after no letter or digit: "f-ing", "a-hole", "d-bag"). The same as the regular
 * expressions of moderation/_scan_py.py's screen. */
static inline int is_word(Py_UCS4 c) { return c == '_' || is_alnum(c); }
/* The letters whose "x-" begins a profanity's abbreviation: f-ing, a-hole, d-bag. */
static inline int is_initial(Py_UCS4 c) { return c == 'f' || c == 'F' || c == 'a' || c == 'A' || c == 'd' || c == 'D'; }
static inline int is_letter(Py_UCS4 c) { return is_alnum(c) && !is_decimal(c) && c != '_'; }
static inline int is_sep(Py_UCS4 c) { return c == ' ' || c == '.' || c == '-' || c == '_' || c == '\n' || c == '\r' || c == '\t'; }
static inline int is_mask(Py_UCS4 c) { return c == '#' || c == '@' || c == '%' || c == '_' || c == 0x2013 || c == 0x2014; }


/* The normaliser's character table (moderation.normaliser.TABLE): code point -> replacement str.
 * set_table(fn) hands over fn(code point); its answers for the BMP are cached here. */
static PyObject *table_fn = NULL;
static PyObject **bmp_table = NULL; /* NULL entry: not asked yet */

static PyObject *py_set_table(PyObject *self, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "set_table needs a callable");
        return NULL;
    }
    Py_XDECREF(table_fn);
    Py_INCREF(fn);
    table_fn = fn;
    if (bmp_table != NULL)
        for (Py_ssize_t c = 0; c < 65536; c++)
            Py_CLEAR(bmp_table[c]);
    Py_RETURN_NONE;
}

/* The replacement of one code point above ASCII (a new reference), or NULL on error. */
static PyObject *table_at(Py_UCS4 c)
{
    if (table_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "moderation._scan: set_table() was not called");
        return NULL;
    }
    if (c < 65536) {
        if (bmp_table == NULL) {
            bmp_table = PyMem_Calloc(65536, sizeof(PyObject *));
            if (bmp_table == NULL)
                return PyErr_NoMemory();
        }
        if (bmp_table[c] == NULL) {
            PyObject *r = PyObject_CallFunction(table_fn, "I", (unsigned int)c);
            if (r == NULL)
                return NULL;
            if (!PyUnicode_Check(r)) {
                Py_DECREF(r);
                PyErr_SetString(PyExc_TypeError, "moderation._scan: the table must give str");
                return NULL;
            }
            bmp_table[c] = r;
        }
        Py_INCREF(bmp_table[c]);
        return bmp_table[c];
    }
    PyObject *r = PyObject_CallFunction(table_fn, "I", (unsigned int)c);
    if (r != NULL && !PyUnicode_Check(r)) {
        Py_DECREF(r);
        PyErr_SetString(PyExc_TypeError, "moderation._scan: the table must give str");
        return NULL;
    }
    return r;
}

/* translate(texts) -> ([str | None], reshaped bytes): each text through the table (None where
 * nothing changes), and per text whether a character became other than one character (then the
 * offsets are no longer one for one). Only texts above ASCII can change. */
static PyObject *py_translate(PyObject *self, PyObject *args)
{
    PyObject *texts;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &texts))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(texts);
    PyObject *out = PyList_New(count), *lengths = PyBytes_FromStringAndSize(NULL, count);
    Py_UCS4 *buf = NULL;
    Py_ssize_t cap = 0;
    if (out == NULL || lengths == NULL)
        goto fail;
    uint8_t *changed_length = (uint8_t *)PyBytes_AS_STRING(lengths);
    for (Py_ssize_t d = 0; d < count; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        changed_length[d] = 0;
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "comment #%zd is not a str", d + 1);
            goto fail;
        }
        Py_INCREF(Py_None);
        PyList_SET_ITEM(out, d, Py_None);
        if (PyUnicode_IS_ASCII(text))
            continue;
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        Py_ssize_t size = 0;
        int changed = 0, reshaped = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            Py_ssize_t need = 1;
            PyObject *r = NULL;
            if (c >= 128) {
                r = table_at(c);
                if (r == NULL)
                    goto fail;
                need = PyUnicode_GET_LENGTH(r);
                if (need != 1)
                    changed = reshaped = 1;
                else if (PyUnicode_READ_CHAR(r, 0) != c)
                    changed = 1;
            }
            if (size + need + 1 > cap) {
                Py_ssize_t grown = 2 * (size + need + 1) + n;
                Py_UCS4 *b = PyMem_Realloc(buf, sizeof(Py_UCS4) * grown);
                if (b == NULL) {
                    Py_XDECREF(r);
                    PyErr_NoMemory();
                    goto fail;
                }
                buf = b;
                cap = grown;
            }
            if (r == NULL)
                buf[size++] = c;
            else {
                for (Py_ssize_t k = 0; k < need; k++)
                    buf[size++] = PyUnicode_READ_CHAR(r, k);
                Py_DECREF(r);
            }
        }
        if (!changed)
            continue;
        PyObject *result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, size);
        if (result == NULL)
            goto fail;
        PyList_SET_ITEM(out, d, result); /* steals; drops the None set above */
        Py_DECREF(Py_None);
        changed_length[d] = (uint8_t)reshaped;
    }
    PyMem_Free(buf);
    return Py_BuildValue("(NN)", out, lengths);
fail:
    PyMem_Free(buf);
    Py_XDECREF(out);
    Py_XDECREF(lengths);
    return NULL;
}

/* segment_sums(out, k, group, cols, cols2, keep, ext): for each item i with group[i] >= 0 (and
 * keep[i], when keep is given), out[group[i]] += ext[cols[i]] where cols[i] >= 0, then += ext[cols2[i]]
 * where cols2 is given and cols2[i] >= 0; rows of k float64. The sums are taken in item order, as
 * a CSR product of the same 0/1 matrix sums them, so both give the same numbers exactly. */
static PyObject *py_segment_sums(PyObject *self, PyObject *args)
{
    Py_buffer out, group, cols, cols2 = {0}, keep = {0}, ext;
    Py_ssize_t k;
    PyObject *cols2_obj, *keep_obj, *result = NULL;
    if (!PyArg_ParseTuple(args, "w*ny*y*OOy*", &out, &k, &group, &cols, &cols2_obj, &keep_obj, &ext))
        return NULL;
    int have2 = cols2_obj != Py_None, have_keep = keep_obj != Py_None;
    if (have2 && PyObject_GetBuffer(cols2_obj, &cols2, PyBUF_SIMPLE) < 0)
        goto done;
    if (have_keep && PyObject_GetBuffer(keep_obj, &keep, PyBUF_SIMPLE) < 0)
        goto done;
    Py_ssize_t m = group.len / 8, n_rows = k > 0 ? out.len / (8 * k) : 0, n_ext = k > 0 ? ext.len / (8 * k) : 0;
    if (k <= 0 || cols.len / 8 != m || (have2 && cols2.len / 8 != m) || (have_keep && keep.len != m)) {
        PyErr_SetString(PyExc_ValueError, "segment_sums: the item arrays must be as long as group");
        goto done;
    }
    {
        const int64_t *g = group.buf, *c1 = cols.buf, *c2 = have2 ? cols2.buf : NULL;
        const uint8_t *kp = have_keep ? keep.buf : NULL;
        const double *x = ext.buf;
        double *y = out.buf;
        enum { AHEAD = 8 };   /* rows of ext are fetched ahead: the tables are larger than the caches */
        for (Py_ssize_t i = 0; i < m; i++) {
            if (i + AHEAD < m) {
                int64_t ahead = c1[i + AHEAD];
                if (ahead >= 0 && ahead < n_ext)
                    __builtin_prefetch(x + ahead * k);
                if (c2 != NULL && (ahead = c2[i + AHEAD]) >= 0 && ahead < n_ext)
                    __builtin_prefetch(x + ahead * k);
            }
            int64_t row = g[i];
            if (row < 0 || (kp != NULL && !kp[i]))
                continue;
            if (row >= n_rows) {
                PyErr_SetString(PyExc_IndexError, "segment_sums: a group is past the last row");
                goto done;
            }
            for (int pass = 0; pass < 2; pass++) {
                int64_t col = pass == 0 ? c1[i] : (c2 != NULL ? c2[i] : -1);
                if (col < 0)
                    continue;
                if (col >= n_ext) {
                    PyErr_SetString(PyExc_IndexError, "segment_sums: a column is past the last row of ext");
                    goto done;
                }
                double *to = y + row * k;
                const double *from = x + col * k;
                for (Py_ssize_t j = 0; j < k; j++)
                    to[j] += from[j];
            }
        }
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&out);
    PyBuffer_Release(&group);
    PyBuffer_Release(&cols);
    if (cols2.obj != NULL)
        PyBuffer_Release(&cols2);
    if (keep.obj != NULL)
        PyBuffer_Release(&keep);
    PyBuffer_Release(&ext);
    return result;
}

/* pair_columns(table, left, right, first_ok, second_ok, slots, shift, cols, n_tok) -> int64 bytes:
 * the word column of each bigram (left[i], right[i]) of tokens, or -1: both tokens in the table
 * (table[] >= 0), the first one able to begin a known bigram and the second to end one, and the key
 * table[left] * n_tok + table[right] found in the open-addressing table (see probe), whose
 * position indexes cols. One pass: what analyse did in several array steps. */
static PyObject *py_pair_columns(PyObject *self, PyObject *args)
{
    Py_buffer table, left, right, first_ok, second_ok, slots, cols;
    unsigned int shift;
    long long n_tok;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*Iy*L", &table, &left, &right, &first_ok, &second_ok, &slots, &shift,
                          &cols, &n_tok))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t m = table.len / 8, count = left.len / 8, size = slots.len / 16, n_cols = cols.len / 8;
    if (right.len != left.len || first_ok.len != n_tok || second_ok.len != n_tok) {
        PyErr_SetString(PyExc_ValueError, "pair_columns: left and right differ in length, or the row flags are not n_tok long");
        goto done;
    }
    if (size == 0 || (size & (size - 1)) != 0 || shift < 1 || shift > 63 || ((uint64_t)1 << (64 - shift)) != (uint64_t)size) {
        PyErr_SetString(PyExc_ValueError, "pair_columns: the table must have 2 ** (64 - shift) slots");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, count * 8);
    if (out == NULL)
        goto done;
    {
        const int64_t *t = table.buf, *l = left.buf, *r = right.buf, *c = cols.buf;
        const uint8_t *f1 = first_ok.buf, *f2 = second_ok.buf;
        const uint64_t *sl = slots.buf;
        int64_t *o = (int64_t *)PyBytes_AS_STRING(out);
        uint64_t mask = (uint64_t)size - 1;
        /* In blocks: first every pair's key and first slot, each slot fetched ahead (the table is
         * larger than the caches: a probe is a memory read), then the probes. */
        enum { BLOCK = 64 };
        uint64_t keys[BLOCK], first[BLOCK];
        for (Py_ssize_t b0 = 0; b0 < count; b0 += BLOCK) {
            Py_ssize_t b1 = b0 + BLOCK < count ? b0 + BLOCK : count;
            for (Py_ssize_t i = b0; i < b1; i++) {
                o[i] = -1;
                first[i - b0] = UINT64_MAX;
                if (l[i] < 0 || l[i] >= m || r[i] < 0 || r[i] >= m) {
                    Py_CLEAR(out);
                    PyErr_SetString(PyExc_IndexError, "pair_columns: a token index is out of range");
                    goto done;
                }
                int64_t a = t[l[i]], b = t[r[i]];
                if (a < 0 || b < 0 || a >= n_tok || b >= n_tok || !f1[a] || !f2[b])
                    continue;
                uint64_t key = (uint64_t)a * (uint64_t)n_tok + (uint64_t)b;
                keys[i - b0] = key;
                first[i - b0] = (key * 0x9E3779B97F4A7C15ULL) >> shift;
                __builtin_prefetch(sl + 2 * first[i - b0]);
            }
            for (Py_ssize_t i = b0; i < b1; i++) {
                uint64_t slot = first[i - b0], key = keys[i - b0];
                if (slot == UINT64_MAX)
                    continue;
                while (sl[2 * slot + 1]) {
                    if (sl[2 * slot] == key) {
                        int64_t at = (int64_t)sl[2 * slot + 1] - 1;
                        if (at >= n_cols) {
                            Py_CLEAR(out);
                            PyErr_SetString(PyExc_IndexError, "pair_columns: a position is past the columns");
                            goto done;
                        }
                        o[i] = c[at];
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
            }
        }
    }
done:
    PyBuffer_Release(&table);
    PyBuffer_Release(&left);
    PyBuffer_Release(&right);
    PyBuffer_Release(&first_ok);
    PyBuffer_Release(&second_ok);
    PyBuffer_Release(&slots);
    PyBuffer_Release(&cols);
    return out;
}

/* take(out, ext, k, rows, cols): out[i] = ext[rows[i] * k + cols[i]] (0 where rows[i] < 0), each
 * row fetched some items ahead: evidence reads a few numbers from each of many rows of tables
 * larger than the caches, and a read that waits for memory each time costs ten times more. */
static PyObject *py_take(PyObject *self, PyObject *args)
{
    Py_buffer out, ext, rows, cols;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "w*y*ny*y*", &out, &ext, &k, &rows, &cols))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t m = rows.len / 8, n_ext = k > 0 ? ext.len / (8 * k) : 0;
    if (k <= 0 || cols.len != rows.len || out.len != rows.len) {
        PyErr_SetString(PyExc_ValueError, "take: out, rows and cols must be as long, and k positive");
        goto done;
    }
    {
        const double *x = ext.buf;
        const int64_t *r = rows.buf, *c = cols.buf;
        double *y = out.buf;
        enum { AHEAD = 16 };
        for (Py_ssize_t i = 0; i < m; i++) {
            if (i + AHEAD < m && r[i + AHEAD] >= 0 && r[i + AHEAD] < n_ext)
                __builtin_prefetch(x + r[i + AHEAD] * k);
            if (r[i] < 0) {
                y[i] = 0.0;
                continue;
            }
            if (r[i] >= n_ext || c[i] < 0 || c[i] >= k) {
                PyErr_SetString(PyExc_IndexError, "take: a row or column is out of range");
                goto done;
            }
            y[i] = x[r[i] * k + c[i]];
        }
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&out);
    PyBuffer_Release(&ext);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&cols);
    return result;
}

/* top_tokens(lo, hi, rule, k, unigram, pair_left, pair_right, pair_col, table, ext, keep, doc, hash,
 *            stop_slots, stop_shift, word_ext, K, token_ext, oov, word_norm, char_norm,
 *            unit_token, unit_share) -> (owner, token, weight) bytes (int64, int64, float64):
 * the evidence of learned-rule flags whose comments have no link, in one pass over their tokens.
 * Flag f reads tokens lo[f] <= t < hi[f] for rule column rule[f]; a token is weighed as
 * moderation.evidence.token_weights weighs it (its unigram, half of each bigram it is in, its
 * character n-grams, each over its comment's norm, plus its share of the signals), in the same
 * order of operations, so the weights are the same numbers. Function words (hash in the
 * open-addressing table stop_slots) are skipped. Each flag keeps its k heaviest positive tokens,
 * heaviest first and ties in text order (a stable sort's order), down to 5% of the heaviest.
 * Arrays: pair_left and pair_right ascending token indices of the bigrams, unit_token ascending
 * and distinct; word_ext and token_ext have K columns (the rules, then the norm's), oov and
 * unit_share K - 1. What numpy made in a dozen passes over every flagged comment's tokens (and a
 * sort of them) is a read of each token. */
typedef struct { double w; int64_t t; } TopEntry;

/* The first index i >= from of ascending a[0:n] with a[i] >= v, given a[from - 1] < v (or from
 * 0): by steps doubling from there, then halving. Flags come in comment order, so each search
 * starts where the last one began and costs the log of the distance, not of the whole batch. */
static Py_ssize_t first_at_least(const int64_t *a, Py_ssize_t n, Py_ssize_t from, int64_t v)
{
    Py_ssize_t lo = from, step = 1;
    while (lo + step < n && a[lo + step] < v) {
        lo += step;
        step *= 2;
    }
    Py_ssize_t hi = lo + step < n ? lo + step : n;
    while (lo < hi) {
        Py_ssize_t mid = lo + ((hi - lo) >> 1);
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static PyObject *py_top_tokens(PyObject *self, PyObject *args)
{
    Py_buffer lo_b, hi_b, rule_b, uni_b, pl_b, pr_b, pc_b, table_b, ext_b, keep_b, doc_b, hash_b, stop_b, wx_b, tx_b,
        oov_b, wn_b, cn_b, ut_b, us_b;
    Py_ssize_t k, K;
    unsigned int shift;
    if (!PyArg_ParseTuple(args, "y*y*y*ny*y*y*y*y*y*y*y*y*y*Iy*ny*y*y*y*y*y*", &lo_b, &hi_b, &rule_b, &k, &uni_b,
                          &pl_b, &pr_b, &pc_b, &table_b, &ext_b, &keep_b, &doc_b, &hash_b, &stop_b, &shift, &wx_b, &K,
                          &tx_b, &oov_b, &wn_b, &cn_b, &ut_b, &us_b))
        return NULL;
    PyObject *result = NULL, *owner_out = NULL, *token_out = NULL, *weight_out = NULL;
    TopEntry *top = NULL;
    Py_ssize_t n_flags = lo_b.len / 8, m = uni_b.len / 8, n_pairs = pl_b.len / 8, n_docs = wn_b.len / 8;
    Py_ssize_t R = K - 1, n_word = K > 0 ? wx_b.len / (8 * K) : 0, n_table = K > 0 ? tx_b.len / (8 * K) : 0;
    Py_ssize_t n_oov = R > 0 ? oov_b.len / (8 * R) : 0, n_units = ut_b.len / 8, stop_size = stop_b.len / 16;
    if (K < 2 || k < 1 || hi_b.len != lo_b.len || rule_b.len != lo_b.len || pr_b.len != pl_b.len ||
        pc_b.len != pl_b.len || table_b.len != uni_b.len || ext_b.len != uni_b.len || keep_b.len != m ||
        doc_b.len != 4 * m || hash_b.len != uni_b.len || cn_b.len != wn_b.len || us_b.len != 8 * R * n_units) {
        PyErr_SetString(PyExc_ValueError, "top_tokens: the arrays' lengths do not agree");
        goto done;
    }
    if (stop_size == 0 || (stop_size & (stop_size - 1)) != 0 || shift < 1 || shift > 63 ||
        ((uint64_t)1 << (64 - shift)) != (uint64_t)stop_size) {
        PyErr_SetString(PyExc_ValueError, "top_tokens: the stop table must have 2 ** (64 - shift) slots");
        goto done;
    }
    {
        const int64_t *lo = lo_b.buf, *hi = hi_b.buf, *rule = rule_b.buf, *uni = uni_b.buf, *pl = pl_b.buf,
                      *pr = pr_b.buf, *pc = pc_b.buf, *table = table_b.buf, *ext = ext_b.buf, *ut = ut_b.buf;
        const int32_t *doc = doc_b.buf;
        const uint8_t *keep = keep_b.buf;
        const uint64_t *hash = hash_b.buf, *stop = stop_b.buf;
        const double *wx = wx_b.buf, *tx = tx_b.buf, *oov = oov_b.buf, *wn = wn_b.buf, *cn = cn_b.buf, *us = us_b.buf;
        uint64_t stop_mask = (uint64_t)stop_size - 1;
        Py_ssize_t total = 0;
        for (Py_ssize_t f = 0; f < n_flags; f++) {
            if (lo[f] < 0 || hi[f] < lo[f] || hi[f] > m || rule[f] < 0 || rule[f] >= R) {
                PyErr_SetString(PyExc_IndexError, "top_tokens: a flag's tokens or rule are out of range");
                goto done;
            }
            total += hi[f] - lo[f] < k ? hi[f] - lo[f] : k;
        }
        top = PyMem_Malloc(sizeof(TopEntry) * (size_t)(k + 1));
        owner_out = PyBytes_FromStringAndSize(NULL, total * 8);
        token_out = PyBytes_FromStringAndSize(NULL, total * 8);
        weight_out = PyBytes_FromStringAndSize(NULL, total * 8);
        if (top == NULL || owner_out == NULL || token_out == NULL || weight_out == NULL) {
            if (top == NULL)
                PyErr_NoMemory();
            goto done;
        }
        int64_t *o_owner = (int64_t *)PyBytes_AS_STRING(owner_out), *o_token = (int64_t *)PyBytes_AS_STRING(token_out);
        double *o_weight = (double *)PyBytes_AS_STRING(weight_out);
        Py_ssize_t written = 0;
        enum { AHEAD = 8 };
        Py_ssize_t from_l = 0, from_r = 0, from_u = 0;   /* where the last flag's searches began */
        for (Py_ssize_t f = 0; f < n_flags; f++) {
            int64_t r = rule[f];
            Py_ssize_t kept = 0;
            /* The flag's tokens are consecutive: its bigrams and signal units are found once, then
             * walked along with them. */
            if (f == 0 || lo[f] < lo[f - 1])
                from_l = from_r = from_u = 0;
            Py_ssize_t at_l = from_l = first_at_least(pl, n_pairs, from_l, lo[f]);
            Py_ssize_t at_r = from_r = first_at_least(pr, n_pairs, from_r, lo[f]);
            Py_ssize_t at_u = from_u = first_at_least(ut, n_units, from_u, lo[f]);
            for (int64_t t = lo[f]; t < hi[f]; t++) {
                /* The tables are larger than the caches: the rows a token some tokens ahead
                 * reads are fetched now, so that its reads do not wait for memory. */
                if (t + AHEAD < hi[f]) {
                    int64_t ahead = uni[t + AHEAD], row = table[t + AHEAD];
                    if (ahead >= 0 && ahead < n_word)
                        __builtin_prefetch(wx + ahead * K + r);
                    if (row >= 0 && row < n_table)
                        __builtin_prefetch(tx + row * K + r);
                    if (at_l + AHEAD < n_pairs && pc[at_l + AHEAD] >= 0 && pc[at_l + AHEAD] < n_word)
                        __builtin_prefetch(wx + pc[at_l + AHEAD] * K + r);
                }
                while (at_l < n_pairs && pl[at_l] < t)
                    at_l++;
                while (at_r < n_pairs && pr[at_r] < t)
                    at_r++;
                while (at_u < n_units && ut[at_u] < t)
                    at_u++;
                uint64_t slot = (hash[t] * 0x9E3779B97F4A7C15ULL) >> shift;
                int quiet = 0;
                while (stop[2 * slot + 1]) {
                    if (stop[2 * slot] == hash[t]) {
                        quiet = 1;
                        break;
                    }
                    slot = (slot + 1) & stop_mask;
                }
                if (quiet)
                    continue;
                int32_t d = doc[t];
                if (d < 0 || d >= n_docs) {
                    PyErr_SetString(PyExc_IndexError, "top_tokens: a token's comment is out of range");
                    goto done;
                }
                double w = 0.0;
                if (keep[t]) {
                    double words = 0.0, chars;
                    int64_t u = uni[t];
                    if (u >= n_word) {
                        PyErr_SetString(PyExc_IndexError, "top_tokens: a word column is out of range");
                        goto done;
                    }
                    if (u >= 0)
                        words = wx[u * K + r];
                    for (int side = 0; side < 2; side++) {
                        Py_ssize_t p = side == 0 ? at_l : at_r;
                        if (p < n_pairs && (side == 0 ? pl[p] : pr[p]) == t && pc[p] >= 0) {
                            if (pc[p] >= n_word) {
                                PyErr_SetString(PyExc_IndexError, "top_tokens: a bigram column is out of range");
                                goto done;
                            }
                            words += wx[pc[p] * K + r] / 2;
                        }
                    }
                    int64_t row = table[t];
                    if (row >= 0 && row < n_table)
                        chars = tx[row * K + r];
                    else if (row < 0 && ext[t] - n_table >= 0 && ext[t] - n_table < n_oov)
                        chars = oov[(ext[t] - n_table) * R + r];
                    else {
                        PyErr_SetString(PyExc_IndexError, "top_tokens: a token's table row is out of range");
                        goto done;
                    }
                    w = words / wn[d] + chars / cn[d];
                }
                if (at_u < n_units && ut[at_u] == t)
                    w = w + us[at_u * R + r];
                if (!(w > 0))
                    continue;
                /* Insert after every entry at least as heavy: ties keep text order. */
                Py_ssize_t i = kept < k ? kept : k;
                while (i > 0 && top[i - 1].w < w) {
                    top[i] = top[i - 1];
                    i--;
                }
                if (i < k) {
                    top[i].w = w;
                    top[i].t = t;
                    if (kept < k)
                        kept++;
                }
            }
            if (kept) {
                double floor = 0.05 * top[0].w;
                for (Py_ssize_t i = 0; i < kept && top[i].w >= floor; i++) {
                    o_owner[written] = f;
                    o_token[written] = top[i].t;
                    o_weight[written] = top[i].w;
                    written++;
                }
            }
        }
        if (_PyBytes_Resize(&owner_out, written * 8) < 0 || _PyBytes_Resize(&token_out, written * 8) < 0 ||
            _PyBytes_Resize(&weight_out, written * 8) < 0)
            goto done;
        result = PyTuple_Pack(3, owner_out, token_out, weight_out);
    }
done:
    Py_XDECREF(owner_out);
    Py_XDECREF(token_out);
    Py_XDECREF(weight_out);
    PyMem_Free(top);
    Py_buffer *all[] = {&lo_b, &hi_b, &rule_b, &uni_b, &pl_b, &pr_b, &pc_b, &table_b, &ext_b, &keep_b, &doc_b, &hash_b,
                        &stop_b, &wx_b, &tx_b, &oov_b, &wn_b, &cn_b, &ut_b, &us_b};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        PyBuffer_Release(all[i]);
    return result;
}

/* terms_at(texts, doc, start, end) -> [str]: the normalised text of each token span
 * normalize(texts[doc[i]])[start[i]:end[i]] (doc ascending: each comment is normalised once). */
static PyObject *py_terms_at(PyObject *self, PyObject *args)
{
    PyObject *texts;
    Py_buffer doc, start, end;
    if (!PyArg_ParseTuple(args, "O!y*y*y*", &PyList_Type, &texts, &doc, &start, &end))
        return NULL;
    Py_UCS4 *a = NULL;
    Py_ssize_t cap = 0, current = -1;
    const int64_t *d = doc.buf, *s0 = start.buf, *e0 = end.buf;
    Py_ssize_t count = doc.len / 8;
    PyObject *out = NULL;
    if (start.len != doc.len || end.len != doc.len) {
        PyErr_SetString(PyExc_ValueError, "terms_at: doc, start and end differ in length");
        goto done;
    }
    out = PyList_New(count);
    if (out == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (d[i] < 0 || d[i] >= PyList_GET_SIZE(texts)) {
            PyErr_SetString(PyExc_IndexError, "terms_at: comment index out of range");
            goto fail;
        }
        PyObject *text = PyList_GET_ITEM(texts, d[i]);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "terms_at needs a list of str");
            goto fail;
        }
        if (d[i] != current) {
            if (load_normalized(text, &a, &cap, NULL) == NULL)
                goto fail;
            current = d[i];
        }
        if (s0[i] < 0 || e0[i] > PyUnicode_GET_LENGTH(text) || s0[i] > e0[i]) {
            PyErr_SetString(PyExc_IndexError, "terms_at: token span out of range");
            goto fail;
        }
        PyObject *term = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, a + s0[i], e0[i] - s0[i]);
        if (term == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, term);
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    PyMem_Free(a);
    PyBuffer_Release(&doc);
    PyBuffer_Release(&start);
    PyBuffer_Release(&end);
    return out;
}

/* Character classes for the ASCII fast path of screen. */
#define SC_LETTER 1
#define SC_WORD 2
#define SC_SEP 4
#define SC_MASK 8
static uint8_t screen_class[128];

#define SC_X 16
#define SC_ALNUM 32
/* From separator i (after a letter): 1-3 separators then a single letter. Returns the index just
 * after that letter (where the next separator must be), or -1. */
static Py_ssize_t spaced_letter_ascii(const Py_UCS1 *a, Py_ssize_t n, Py_ssize_t i)
{
    for (Py_ssize_t j = i; j < n && j <= i + 2 && (screen_class[a[j]] & SC_SEP); j++)
        if (j + 1 < n && (screen_class[a[j + 1]] & SC_LETTER) && (j + 2 >= n || !(screen_class[a[j + 2]] & SC_ALNUM)))
            return j + 2;
    return -1;
}

static Py_ssize_t spaced_letter_any(int kind, const void *data, Py_ssize_t n, Py_ssize_t i)
{
#define AT(i) PyUnicode_READ(kind, data, (i))
    for (Py_ssize_t j = i; j < n && j <= i + 2 && is_sep(AT(j)); j++)
        if (j + 1 < n && is_letter(AT(j + 1)) && (j + 2 >= n || !is_alnum(AT(j + 2))))
            return j + 2;
    return -1;
#undef AT
}

/* The classes of any character: the table for ASCII, the Unicode database above it. */
static inline uint8_t screen_klass(Py_UCS4 c)
{
    if (c < 128)
        return screen_class[c];
    return (uint8_t)((is_letter(c) ? SC_LETTER : 0) | (is_word(c) ? SC_WORD : 0) | (is_mask(c) ? SC_MASK : 0) |
                     (is_alnum(c) ? SC_ALNUM : 0));
}

/* One screen loop for 1-byte and 4-byte text (CH is the character type, K its class). */
#define SCREEN_LOOP(CH, K)                                                                                  \
    {                                                                                                       \
        uint8_t f = 0;                                                                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                                                \
            uint8_t k = K(a[i]);                                                                            \
            if (!(k & (SC_SEP | SC_MASK | SC_X)))                                                           \
                continue;                                                                                   \
            if ((k & SC_SEP) && !(f & 2) && i > 0 && (K(a[i - 1]) & SC_LETTER)) {                           \
                if (i < 2 || !(K(a[i - 2]) & SC_ALNUM)) {                                                   \
                    Py_ssize_t next = -1;                                                                   \
                    for (Py_ssize_t j = i; j < n && j <= i + 2 && (K(a[j]) & SC_SEP); j++)                  \
                        if (j + 1 < n && (K(a[j + 1]) & SC_LETTER) && (j + 2 >= n || !(K(a[j + 2]) & SC_ALNUM))) { \
                            next = j + 2;                                                                   \
                            break;                                                                          \
                        }                                                                                   \
                    if (next >= 0)                                                                          \
                        for (Py_ssize_t j = next; j < n && j <= next + 2 && (K(a[j]) & SC_SEP); j++)        \
                            if (j + 1 < n && (K(a[j + 1]) & SC_LETTER) && (j + 2 >= n || !(K(a[j + 2]) & SC_ALNUM))) { \
                                f |= 2;                                                                     \
                                break;                                                                      \
                            }                                                                               \
                }                                                                                           \
                if (a[i] == '.' && a[i - 1] >= 'A' && a[i - 1] <= 'Z' && i + 2 < n && a[i + 1] >= 'A' &&    \
                    a[i + 1] <= 'Z' && a[i + 2] == '.')                                                     \
                    f |= 2;                                                                                 \
            }                                                                                               \
            if (!(f & 4) && ((k & (SC_MASK | SC_X)) || a[i] == '-')) {                                      \
                CH p = i ? a[i - 1] : 0, e = i + 1 < n ? a[i + 1] : 0;                                      \
                uint8_t kp = i ? K(p) : 0, ke = i + 1 < n ? K(e) : 0;                                        \
                if (((k & SC_MASK) && ((kp & SC_LETTER) || (ke & SC_LETTER))) ||                            \
                    (a[i] == '-' && e == '-' && ((kp & SC_WORD) || (i + 2 < n && (K(a[i + 2]) & SC_WORD)))) || \
                    (a[i] == '-' && is_initial(p) && (i < 2 || !(K(a[i - 2]) & SC_ALNUM)) &&                     \
                     (ke & SC_LETTER)) ||                                                                   \
                    (a[i] == 'X' && ((p >= 'a' && p <= 'z') || (e >= 'a' && e <= 'z'))))                     \
                    f |= 4;                                                                                 \
            }                                                                                               \
            if (f == 6)                                                                                     \
                break;                                                                                      \
        }                                                                                                   \
        return f;                                                                                           \
    }

#define ASCII_KLASS(c) (screen_class[(c)])
static uint8_t screen_ascii(const Py_UCS1 *a, Py_ssize_t n) SCREEN_LOOP(Py_UCS1, ASCII_KLASS)
static uint8_t screen_ucs4(const Py_UCS4 *a, Py_ssize_t n) SCREEN_LOOP(Py_UCS4, screen_klass)

static PyObject *py_screen(PyObject *self, PyObject *args)
{
    PyObject *texts;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &texts))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(texts);
    PyObject *out = PyBytes_FromStringAndSize(NULL, count);
    if (out == NULL)
        return NULL;
    uint8_t *flags = (uint8_t *)PyBytes_AS_STRING(out);
    Py_UCS4 *buf = NULL;
    Py_ssize_t cap = 0;
    for (Py_ssize_t d = 0; d < count; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        if (!PyUnicode_Check(text)) {
            Py_DECREF(out);
            PyMem_Free(buf);
            PyErr_Format(PyExc_TypeError, "comment #%zd is not a str", d + 1);
            return NULL;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        if (PyUnicode_IS_ASCII(text)) {
            flags[d] = screen_ascii(PyUnicode_1BYTE_DATA(text), n);
            continue;
        }
        if (n + 1 > cap) {
            PyMem_Free(buf);
            cap = 2 * (n + 1);
            buf = PyMem_Malloc(sizeof(Py_UCS4) * cap);
            if (buf == NULL) {
                Py_DECREF(out);
                return PyErr_NoMemory();
            }
        }
        if (PyUnicode_AsUCS4(text, buf, cap, 0) == NULL) {
            Py_DECREF(out);
            PyMem_Free(buf);
            return NULL;
        }
        flags[d] = 1 | screen_ucs4(buf, n);
    }
    PyMem_Free(buf);
    return out;
}

/* --- word k-gram digests for repeat detection (moderation.fingerprints) ---------------------
 *
 * BLAKE2b with an 8-byte digest, no key (RFC 7693), of each run of k words joined by single
 * spaces: the bytes hashlib.blake2b(" ".join(words[i:i + k]).encode(), digest_size=8).digest()
 * gives, which the history has always stored. In Python the hash call per 5-gram was most of the
 * time of a repeat check; the twin in _scan_py computes the same with hashlib.
 */
static const uint64_t B2_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t B2_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static inline uint64_t load64_le(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

/* Written for both a uint64_t and a vector of them (blake2b_8x4): shifts, not a rotate function. */
#define B2_ROTR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
#define B2_G(a, b, c, d, x, y)                 \
    do {                                       \
        v[a] = v[a] + v[b] + (x);              \
        v[d] = B2_ROTR(v[d] ^ v[a], 32);       \
        v[c] = v[c] + v[d];                    \
        v[b] = B2_ROTR(v[b] ^ v[c], 24);       \
        v[a] = v[a] + v[b] + (y);              \
        v[d] = B2_ROTR(v[d] ^ v[a], 16);       \
        v[c] = v[c] + v[d];                    \
        v[b] = B2_ROTR(v[b] ^ v[c], 63);       \
    } while (0)
/* One round on the state v and message m, its schedule a constant. */
#define B2_ROUND(r)                                                         \
    do {                                                                    \
        B2_G(0, 4, 8, 12, m[B2_SIGMA[r][0]], m[B2_SIGMA[r][1]]);           \
        B2_G(1, 5, 9, 13, m[B2_SIGMA[r][2]], m[B2_SIGMA[r][3]]);           \
        B2_G(2, 6, 10, 14, m[B2_SIGMA[r][4]], m[B2_SIGMA[r][5]]);          \
        B2_G(3, 7, 11, 15, m[B2_SIGMA[r][6]], m[B2_SIGMA[r][7]]);          \
        B2_G(0, 5, 10, 15, m[B2_SIGMA[r][8]], m[B2_SIGMA[r][9]]);          \
        B2_G(1, 6, 11, 12, m[B2_SIGMA[r][10]], m[B2_SIGMA[r][11]]);        \
        B2_G(2, 7, 8, 13, m[B2_SIGMA[r][12]], m[B2_SIGMA[r][13]]);         \
        B2_G(3, 4, 9, 14, m[B2_SIGMA[r][14]], m[B2_SIGMA[r][15]]);         \
    } while (0)
#define B2_ROUNDS()                                                                  \
    do {                                                                             \
        B2_ROUND(0); B2_ROUND(1); B2_ROUND(2); B2_ROUND(3); B2_ROUND(4); B2_ROUND(5);  \
        B2_ROUND(6); B2_ROUND(7); B2_ROUND(8); B2_ROUND(9); B2_ROUND(10); B2_ROUND(11); \
    } while (0)

static void b2_compress(uint64_t h[8], const uint8_t block[128], uint64_t counter, int last)
{
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++)
        m[i] = load64_le(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2_IV[i];
    }
    v[12] ^= counter; /* the counter's high word stays 0: messages here are short */
    if (last)
        v[14] = ~v[14];
    B2_ROUNDS();
    for (int i = 0; i < 8; i++)
        h[i] ^= v[i] ^ v[i + 8];
}

/* The 8-byte BLAKE2b digest of data[0:n] into out (the digest's bytes, as hashlib gives them). */
static void blake2b_8(const uint8_t *data, size_t n, uint8_t out[8])
{
    uint64_t h[8];
    uint8_t block[128];
    for (int i = 0; i < 8; i++)
        h[i] = B2_IV[i];
    h[0] ^= 0x01010000ULL ^ 8; /* parameter block: digest length 8, no key, fanout and depth 1 */
    uint64_t counter = 0;
    while (n > 128) {
        counter += 128;
        b2_compress(h, data, counter, 0);
        data += 128;
        n -= 128;
    }
    memset(block, 0, sizeof block);
    memcpy(block, data, n);
    counter += n;
    b2_compress(h, block, counter, 1);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(h[0] >> (8 * i));
}

/* Four one-block messages hashed at once, one per lane of a vector (GCC/Clang vector extensions):
 * the k-grams of a comment are short (one 128-byte block each) and many, and BLAKE2b's rounds are
 * the same for each, so four go through them for about the cost of one. On x86-64 Linux the
 * function is also compiled for AVX2, chosen at load where the processor has it. Same digests
 * as blake2b_8 (the tests compare them on random input). */
#if defined(__GNUC__)
#define B2_LANES 4
typedef uint64_t b2v __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__gnu_linux__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void blake2b_8x4(const uint8_t blocks[B2_LANES][128], const uint64_t length[B2_LANES], uint8_t *out[B2_LANES])
{
    b2v m[16], v[16];
    for (int i = 0; i < 16; i++)
        m[i] = (b2v){load64_le(blocks[0] + 8 * i), load64_le(blocks[1] + 8 * i), load64_le(blocks[2] + 8 * i),
                     load64_le(blocks[3] + 8 * i)};
    for (int i = 0; i < 8; i++) {
        uint64_t h = B2_IV[i] ^ (i == 0 ? 0x01010000ULL ^ 8 : 0);
        v[i] = (b2v){h, h, h, h};
        v[i + 8] = (b2v){B2_IV[i], B2_IV[i], B2_IV[i], B2_IV[i]};
    }
    v[12] ^= (b2v){length[0], length[1], length[2], length[3]};
    v[14] = ~v[14];
    B2_ROUNDS();
    /* Only the first word of h makes an 8-byte digest. */
    b2v h0 = (b2v){B2_IV[0] ^ 0x01010000ULL ^ 8, B2_IV[0] ^ 0x01010000ULL ^ 8, B2_IV[0] ^ 0x01010000ULL ^ 8,
                   B2_IV[0] ^ 0x01010000ULL ^ 8} ^ v[0] ^ v[8];
    for (int lane = 0; lane < B2_LANES; lane++)
        if (out[lane] != NULL)
            for (int i = 0; i < 8; i++)
                out[lane][i] = (uint8_t)(h0[lane] >> (8 * i));
}
#endif

/* The k words at utf8 + start[0..k) of sizes size[0..k), joined by single spaces into dst; the length. */
static size_t join_words(uint8_t *dst, const char *utf8, const Py_ssize_t *start, const Py_ssize_t *size,
                         Py_ssize_t k)
{
    size_t w = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        if (j > 0)
            dst[w++] = ' ';
        memcpy(dst + w, utf8 + start[j], (size_t)size[j]);
        w += (size_t)size[j];
    }
    return w;
}

/* text_kgram_digests(texts: list[str], k) -> (bytes, list[int], list[int]): the 8-byte BLAKE2b
 * digest of every run of k words joined by single spaces, text after text, the words being the runs
 * of alphanumeric characters (re's [^\W_]+: str.isalnum's characters); with how many k-grams and
 * how many words each text has. Splitting here, from the text's UTF-8, saves making a Python string
 * and a list for every word of a batch. */
static PyObject *py_text_kgram_digests(PyObject *self, PyObject *args)
{
    PyObject *texts;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &texts, &k))
        return NULL;
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "text_kgram_digests: k must be at least 1");
        return NULL;
    }
    Py_ssize_t n_texts = PyList_GET_SIZE(texts);
    Buf out = {0};
    PyObject *grams = PyList_New(n_texts), *counts = PyList_New(n_texts);
    Py_ssize_t *start = NULL, *size = NULL, capacity = 0;
    uint8_t *joined = NULL;
    size_t joined_cap = 0;
#ifdef B2_LANES
    uint8_t lane_block[B2_LANES][128];
    uint64_t lane_length[B2_LANES];
    uint8_t *lane_out[B2_LANES];
    int lanes = 0;
#endif
    if (grams == NULL || counts == NULL)
        goto fail;
    for (Py_ssize_t d = 0; d < n_texts; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "text_kgram_digests: texts must be str");
            goto fail;
        }
        Py_ssize_t n_bytes;
        const char *utf8 = PyUnicode_AsUTF8AndSize(text, &n_bytes);
        if (utf8 == NULL)
            goto fail;
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        Py_ssize_t length = PyUnicode_GET_LENGTH(text), n = 0, at = 0, word_at = -1;
        for (Py_ssize_t i = 0; i <= length; i++) {
            int alnum = 0, width = 0;
            if (i < length) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                alnum = Py_UNICODE_ISALNUM(c);
                width = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
            }
            if (alnum && word_at < 0) {
                word_at = at;
            } else if (!alnum && word_at >= 0) {
                if (n == capacity) {
                    capacity = capacity ? capacity * 2 : 256;
                    Py_ssize_t *s2 = PyMem_Realloc(start, sizeof(*start) * capacity);
                    if (s2 == NULL) {
                        PyErr_NoMemory();
                        goto fail;
                    }
                    start = s2;
                    Py_ssize_t *z2 = PyMem_Realloc(size, sizeof(*size) * capacity);
                    if (z2 == NULL) {
                        PyErr_NoMemory();
                        goto fail;
                    }
                    size = z2;
                }
                start[n] = word_at;
                size[n++] = at - word_at;
                word_at = -1;
            }
            at += width;
        }
        Py_ssize_t g = n >= k ? n - k + 1 : 0;
        PyObject *gv = PyLong_FromSsize_t(g), *nv = PyLong_FromSsize_t(n);
        if (gv == NULL || nv == NULL) {
            Py_XDECREF(gv);
            Py_XDECREF(nv);
            goto fail;
        }
        PyList_SET_ITEM(grams, d, gv);
        PyList_SET_ITEM(counts, d, nv);
        if (g == 0)
            continue;
        if (buf_reserve(&out, g * 8) < 0)
            goto fail;
        for (Py_ssize_t i = 0; i < g; i++) {
            size_t total = (size_t)(k - 1);
            for (Py_ssize_t j = i; j < i + k; j++)
                total += (size_t)size[j];
            uint8_t *digest = (uint8_t *)out.data + out.size;
            out.size += 8;
#ifdef B2_LANES
            if (total <= 128) {   /* one block: a lane of the next four */
                memset(lane_block[lanes], 0, 128);
                lane_length[lanes] = join_words(lane_block[lanes], utf8, start + i, size + i, k);
                lane_out[lanes++] = digest;
                if (lanes == B2_LANES) {
                    blake2b_8x4(lane_block, lane_length, lane_out);
                    lanes = 0;
                }
                continue;
            }
#endif
            if (total > joined_cap) {   /* a k-gram longer than one block, or no lanes */
                PyMem_Free(joined);
                joined_cap = total * 2 + 64;
                joined = PyMem_Malloc(joined_cap);
                if (joined == NULL) {
                    PyErr_NoMemory();
                    goto fail;
                }
            }
            blake2b_8(joined, join_words(joined, utf8, start + i, size + i, k), digest);
        }
#ifdef B2_LANES
        /* The text's last few, before the output may move. */
        if (lanes == 1) {
            blake2b_8(lane_block[0], lane_length[0], lane_out[0]);
        } else if (lanes > 1) {
            for (int lane = lanes; lane < B2_LANES; lane++) {
                lane_out[lane] = NULL;
                lane_length[lane] = 0;
            }
            blake2b_8x4(lane_block, lane_length, lane_out);
        }
        lanes = 0;
#endif
    }
    PyMem_Free(start);
    PyMem_Free(size);
    PyMem_Free(joined);
    PyObject *digests = buf_bytes(&out);
    if (digests == NULL) {
        Py_DECREF(grams);
        Py_DECREF(counts);
        return NULL;
    }
    return Py_BuildValue("(NNN)", digests, grams, counts);
fail:
    PyMem_Free(start);
    PyMem_Free(size);
    PyMem_Free(joined);
    buf_free(&out);
    Py_XDECREF(grams);
    Py_XDECREF(counts);
    return NULL;
}

static PyMethodDef methods[] = {
    {"set_fold", py_set_fold, METH_O, "Set the function that folds one non-ASCII character."},
    {"normalize", py_normalize, METH_O, "moderation.text.normalize, in C."},
    {"scan", py_scan, METH_VARARGS, "Tokens and pre-screen flags of a list of comments."},
    {"measure_volume", py_measure_volume, METH_VARARGS, "moderation.signals.measure_volume, in C."},
    {"grams", py_grams, METH_VARARGS, "Hashes of the padded character n-grams of words."},
    {"grams_at", py_grams_at, METH_VARARGS, "Hashes of the character n-grams of normalised token spans."},
    {"probe", py_probe, METH_VARARGS, "Look up 64-bit keys in an open-addressing table."},
    {"screen", py_screen, METH_VARARGS, "Which comments the normaliser may have to change."},
    {"terms_at", py_terms_at, METH_VARARGS, "The normalised text of token spans."},
    {"set_table", py_set_table, METH_O, "Set the normaliser's character table (code point -> str)."},
    {"translate", py_translate, METH_VARARGS, "Texts through the normaliser's character table."},
    {"take", py_take, METH_VARARGS, "Numbers at (row, column) of a table, rows fetched ahead."},
    {"pair_columns", py_pair_columns, METH_VARARGS, "The word column of each bigram of tokens, or -1."},
    {"segment_sums", py_segment_sums, METH_VARARGS, "Per-group sums of rows of a matrix (a 0/1 CSR product)."},
    {"top_tokens", py_top_tokens, METH_VARARGS, "The heaviest tokens of learned-rule flags without links."},
    {"text_kgram_digests", py_text_kgram_digests, METH_VARARGS,
     "BLAKE2b-64 digests of the word k-grams of texts, with each text's k-gram and word counts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__scan(void)
{
    for (Py_UCS4 c = 0; c < 128; c++)
        ascii_class[c] = (uint8_t)((Py_UNICODE_ISALNUM(c) ? ASCII_ALNUM : 0) | (Py_UNICODE_ISSPACE(c) ? ASCII_SPACE : 0) |
                                   ((c == '/' || c == 'w' || c == 'W' || c == '.' || c == '[' || c == '(' || c == '{' ||
                                     c == 'd' || c == 'D') ? ASCII_LINK : 0) | (is_leet(c) ? ASCII_LEET : 0) |
                                   (is_09(c) ? ASCII_DIGIT : 0) | (c == '$' ? ASCII_DOLLAR : 0) |
                                   (is_mask_trigger(c) ? ASCII_MASK_TRIGGER : 0));
    for (Py_UCS4 c = 0; c < 128; c++)
        ascii_lower[c] = (uint8_t)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    for (Py_UCS4 c = 0; c < 128; c++)
        screen_class[c] = (uint8_t)((is_letter(c) ? SC_LETTER : 0) | (is_word(c) ? SC_WORD : 0) |
                                    (is_sep(c) ? SC_SEP : 0) | (is_mask(c) ? SC_MASK : 0) | (c == 'X' ? SC_X : 0) |
                                    (is_alnum(c) ? SC_ALNUM : 0));
    return PyModule_Create(&module);
}
