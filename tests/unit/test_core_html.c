/* Unit tests for core_html (src/core/core_html.h).
 *
 * The first group is a corpus of XSS and mXSS vectors, one cmocka test per row. Each output is re-parsed with gumbo
 * the way a browser parses innerHTML (a fragment in a <div>), and the checker (check_html) asserts the invariant
 * the rest of Parley relies on: only whitelisted elements and attributes, only http(s)/mailto in href and cite,
 * rel="nofollow ugc noopener" on every a, no "javascript:" or "onerror=" in any attribute other than title (free
 * text) and href/cite (whose scheme is checked instead), no comment/CDATA/template node, no text outside a p, and
 * the tree the parser builds is the one the sanitiser wrote (no element inserted, cloned, reparented or implicitly
 * closed by the parser, no a inside an a, no block inside a p or an inline element). Each output must also be a
 * fixed point of the sanitiser (sanitize_checked). A few rows also pin a substring the output must (or must not)
 * contain.
 *
 * The second group pins exact outputs: the paragraph/newline layout, autolinking, every whitelisted tag and
 * attribute, the limits, and core_html_count_links and core_html_escape. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <gumbo.h>
#include "core/core_html.h"

#include "../common/html_oracle.h"

/* Sanitises IN, checks the invariant and that the output is a fixed point; returns the output (caller frees). */
static char *sanitize_checked(const char *in, size_t len)
{
    size_t out_len = 0, again_len = 0;
    char *out = core_html_sanitize(in, len, &out_len);
    assert_non_null(out);
    const char *why = check_html(out, out_len, NULL);
    if (why != NULL)
        fail_msg("%s\n  in:  %.*s\n  out: %s", why, (int)len, in, out);
    char *again = core_html_sanitize(out, out_len, &again_len);
    if (again_len != out_len || memcmp(again, out, out_len) != 0)
        fail_msg("not idempotent\n  in:    %.*s\n  out:   %s\n  again: %s", (int)len, in, out, again);
    free(again);
    return out;
}

/* ---- the XSS / mXSS corpus ---- */

struct st_vector_t {
    const char *name;
    const char *in;
    size_t len;          /* 0: strlen(in); set for inputs with a NUL */
    const char *must;    /* NULL, or a substring the output must contain */
    const char *mustnot; /* NULL, or a substring the output must not contain (case-insensitive) */
};

#define V(name, in)                                                                                                    \
    {                                                                                                                  \
        name, in, 0, NULL, NULL                                                                                        \
    }
#define VM(name, in, must)                                                                                             \
    {                                                                                                                  \
        name, in, 0, must, NULL                                                                                        \
    }
#define VN(name, in, mustnot)                                                                                          \
    {                                                                                                                  \
        name, in, 0, NULL, mustnot                                                                                     \
    }
#define VL(name, in)                                                                                                   \
    {                                                                                                                  \
        name, in, sizeof(in) - 1, NULL, NULL                                                                           \
    }
#define VLN(name, in, mustnot)                                                                                         \
    {                                                                                                                  \
        name, in, sizeof(in) - 1, NULL, mustnot                                                                        \
    }

static const struct st_vector_t vectors[] = {
    /* script and style */
    VM("script shown as text", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    V("script upper case", "<SCRIPT>alert(1)</SCRIPT>"),
    V("script with src", "<script src=//evil.example/x.js></script>"),
    V("script with type", "<script type=\"text/javascript\">alert(1)</script>"),
    V("script unclosed", "<script>alert(1)"),
    V("script in b", "<b><script>alert(1)</script></b>"),
    VL("script split by NUL", "<scr\0ipt>alert(1)</scr\0ipt>"),
    VL("script tag with NUL", "<scr\0ipt>alert(1)</script>"),
    V("script with markup inside", "<script><b>x</b><a href=javascript:alert(1)>y</a></script>"),
    V("script end in string", "<script>var s = \"</script><script>alert(1)//\";</script>"),
    V("script escaped comment", "<script><!--<script></script>alert(1)--></script>"),
    V("style element", "<style>body{background:url(javascript:alert(1))}</style>"),
    V("style with markup", "<style></style><img src=x onerror=alert(1)></style>"),
    V("style in a", "<a href=http://x.example/><style>*{x:expression(alert(1))}</style></a>"),
    V("nested script tags", "<<script>script>alert(1)<</script>/script>"),
    V("script with slash attribute", "<script/src=data:,alert(1)></script>"),

    /* event handlers */
    VN("img onerror", "<img src=x onerror=alert(1)>", "<img"),
    V("img onerror quoted", "<img src=\"x\" onerror=\"alert(1)\">"),
    V("body onload", "<body onload=alert(1)>"),
    V("svg onload", "<svg onload=alert(1)>"),
    V("svg slash onload", "<svg/onload=alert(1)>"),
    VN("b onmouseover", "<b onmouseover=alert(1)>x</b>", "onmouseover"),
    VN("a onclick", "<a href=\"http://x.example/\" onclick=\"alert(1)\">x</a>", "onclick"),
    VN("a onmouseover upper case", "<a ONMOUSEOVER=alert(1) href=http://x.example/>x</a>", "onmouseover"),
    VN("em slash onmouseover", "<em/onmouseover=alert(1)>x</em>", "onmouseover="),
    VN("strong tab onclick", "<strong\tonclick=alert(1)>x</strong>", "onclick="),
    VN("q newline onfocus", "<q\nonfocus=alert(1) autofocus tabindex=1>x</q>", "onfocus="),
    VN("abbr form feed onmouseover", "<abbr\fonmouseover=alert(1)>x</abbr>", "onmouseover="),
    VN("code quoted slash", "<code \"\"/onmouseover=alert(1)>x</code>", "onmouseover="),
    V("i with backtick", "<i onmouseover=`alert(1)`>x</i>"),
    VN("blockquote onmouseenter", "<blockquote onmouseenter=alert(1)>x</blockquote>", "onmouseenter"),
    V("del onanimationstart", "<del style=\"animation-name:x\" onanimationstart=alert(1)>x</del>"),
    V("input autofocus onfocus", "<input autofocus onfocus=alert(1)>"),
    V("details ontoggle", "<details open ontoggle=alert(1)>"),
    V("video source onerror", "<video><source onerror=\"alert(1)\">"),
    V("audio src onerror", "<audio src=x onerror=alert(1)>"),
    V("marquee onstart", "<marquee onstart=alert(1)>x</marquee>"),
    V("select onfocus", "<select autofocus onfocus=alert(1)>"),
    V("div onpointerover", "<div onpointerover=\"alert(1)\">x</div>"),
    V("image tag", "<image src=x onerror=alert(1)>"),
    V("isindex", "<isindex type=image src=1 onerror=alert(1)>"),
    V("keygen", "<keygen autofocus onfocus=alert(1)>"),
    VN("b with entity-named handler", "<b on&#109;ouseover=alert(1)>x</b>", "onmouseover="),
    V("handler without space", "<img src=x onerror=alert(1)//"),
    V("handler after duplicate attribute", "<b title=a title=b onclick=alert(1)>x</b>"),

    /* javascript:, data:, vbscript: hidden in URLs */
    VN("javascript href", "<a href=\"javascript:alert(1)\">x</a>", "href"),
    VN("javascript upper case", "<a href=\"JAVASCRIPT:alert(1)\">x</a>", "href"),
    VN("javascript mixed case", "<a href=\"JaVaScRiPt:alert(1)\">x</a>", "href"),
    VN("javascript decimal entity", "<a href=\"&#106;avascript:alert(1)\">x</a>", "href"),
    VN("javascript decimal no semicolon",
       "<a href=\"&#106&#97&#118&#97&#115&#99&#114&#105&#112&#116&#58alert(1)\">x</a>", "href"),
    VN("javascript padded decimal", "<a href=\"&#0000106&#0000097vascript:alert(1)\">x</a>", "href"),
    VN("javascript hex entity", "<a href=\"&#x6A;avascript:alert(1)\">x</a>", "href"),
    VN("javascript hex upper", "<a href=\"&#X6A;&#X61;vascript:alert(1)\">x</a>", "href"),
    VN("javascript named Tab", "<a href=\"java&Tab;script:alert(1)\">x</a>", "href"),
    VN("javascript named NewLine", "<a href=\"java&NewLine;script:alert(1)\">x</a>", "href"),
    VN("javascript named colon", "<a href=\"javascript&colon;alert(1)\">x</a>", "href"),
    VN("javascript tab", "<a href=\"java\tscript:alert(1)\">x</a>", "href"),
    VN("javascript newline", "<a href=\"java\nscript:alert(1)\">x</a>", "href"),
    VN("javascript carriage return", "<a href=\"java\rscript:alert(1)\">x</a>", "href"),
    VN("javascript newline after scheme", "<a href=\"javascript\n:alert(1)\">x</a>", "href"),
    VN("javascript leading space", "<a href=\" javascript:alert(1)\">x</a>", "href"),
    VN("javascript leading control", "<a href=\"\x01javascript:alert(1)\">x</a>", "href"),
    VN("javascript leading entity control", "<a href=\"&#1;javascript:alert(1)\">x</a>", "href"),
    VN("javascript leading form feed", "<a href=\"&#12;javascript:alert(1)\">x</a>", "href"),
    VLN("javascript with NUL", "<a href=\"java\0script:alert(1)\">x</a>", "href"),
    VN("javascript entity NUL", "<a href=\"java&#0;script:alert(1)\">x</a>", "href"),
    VN("javascript unquoted", "<a href=javascript:alert(1)>x</a>", "href"),
    VN("javascript single quotes", "<a href='javascript:alert(1)'>x</a>", "href"),
    VN("javascript in title and href", "<a title=\"javascript:x\" href=\"javascript:alert(1)\">x</a>", "href"),
    VN("javascript URL-encoded", "<a href=\"javascript%3Aalert(1)\">x</a>", "href"),
    VN("javascript percent-encoded letters", "<a href=\"%6Aavascript:alert(1)\">x</a>", "href"),
    VN("javascript fullwidth colon",
       "<a href=\"javascript\xEF\xBC\x9A"
       "alert(1)\">x</a>",
       "href"),
    VN("data text/html", "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>", "href"),
    VN("data upper case", "<a href=\"DATA:text/html,<script>alert(1)</script>\">x</a>", "href"),
    VN("data with entities", "<a href=\"&#100;ata:text/html,x\">x</a>", "href"),
    VN("vbscript", "<a href=\"vbscript:msgbox(1)\">x</a>", "href"),
    VN("vbscript upper", "<a href=\"VBSCRIPT:msgbox(1)\">x</a>", "href"),
    VN("livescript", "<a href=\"livescript:alert(1)\">x</a>", "href"),
    VN("file URL", "<a href=\"file:///etc/passwd\">x</a>", "href"),
    VN("protocol-relative", "<a href=\"//evil.example/\">x</a>", "href"),
    VN("backslash protocol-relative", "<a href=\"\\\\evil.example/\">x</a>", "href"),
    VN("relative path", "<a href=\"/account/delete\">x</a>", "href"),
    VN("relative dot", "<a href=\"./x\">x</a>", "href"),
    VN("fragment only", "<a href=\"#top\">x</a>", "href"),
    VN("empty href", "<a href=\"\">x</a>", "href"),
    VN("http without host", "<a href=\"http:javascript:alert(1)\">x</a>", "href"),
    VN("http triple slash", "<a href=\"http:///evil\">x</a>", "href"),
    VN("https backslash host", "<a href=\"https:\\\\evil.example\">x</a>", "href"),
    VN("blockquote cite javascript", "<blockquote cite=\"javascript:alert(1)\">x</blockquote>", "cite="),
    VN("q cite data", "<q cite=\"data:text/html,x\">x</q>", "cite="),
    VN("q cite entity javascript", "<q cite=\"&#x6a;avascript:x\">x</q>", "cite="),
    VM("http kept beside javascript", "<a href=\"http://ok.example/\">x</a><a href=\"javascript:1\">y</a>",
       "href=\"http://ok.example/\""),
    VN("javascript autolink attempt", "javascript:alert(1)//http://x", "href=\"javascript"),
    VN("javascript in datetime", "<del datetime=\"javascript:alert(1)\">x</del>", "datetime"),
    VN("onerror in datetime", "<del datetime='\" onerror=alert(1)'>x</del>", "datetime"),

    /* SVG and MathML */
    V("svg script", "<svg><script>alert(1)</script></svg>"),
    V("svg script xlink", "<svg><script xlink:href=data:,alert(1)></script></svg>"),
    V("svg a xlink href", "<svg><a xlink:href=\"javascript:alert(1)\"><text x=20 y=20>x</text></a></svg>"),
    VN("svg a href", "<svg><a href=\"javascript:alert(1)\">x</a></svg>", "href"),
    V("svg animate href", "<svg><a><animate attributeName=href values=javascript:alert(1) /><text>x</text></a>"),
    V("svg set onbegin", "<svg><set onbegin=alert(1) attributename=x to=1>"),
    V("svg foreignObject", "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>"),
    V("svg foreignObject p in p",
      "<p><svg><foreignObject><p>x</p><blockquote>y</blockquote></foreignObject></svg></p>"),
    V("svg title mXSS", "<svg></p><title><a id=\"</title><img src=x onerror=alert(1)>\"></a></title></svg>"),
    V("svg desc breakout", "<svg><desc><style><a title=\"</style><img src onerror=alert(1)>\"></a></style></desc>"),
    V("svg style", "<svg><style><img src=x onerror=alert(1)></style></svg>"),
    V("svg CDATA", "<svg><![CDATA[><img src=x onerror=alert(1)>]]></svg>"),
    V("svg use data", "<svg><use href=\"data:image/svg+xml,<svg id='x'/>#x\"/></svg>"),
    V("svg image", "<svg><image href=x onerror=alert(1)></svg>"),
    V("math mtext table mglyph style",
      "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>"),
    V("math mtext mglyph svg", "<math><mtext><mglyph><svg><mtext><style><img src=x onerror=alert(1)>"),
    V("math annotation-xml", "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)>"),
    V("math maction href", "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>"),
    V("math href", "<math href=\"javascript:alert(1)\">x</math>"),
    V("math mi b", "<math><mi><b onclick=alert(1)>x</b></mi></math>"),
    V("math style breakout", "<math><style><img src=x onerror=alert(1)></style></math>"),
    V("math mi a nesting", "<a href=http://a.example/><math><mi><a href=http://b.example/>x</a></mi></math></a>"),
    V("svg inside a", "<a href=\"http://x.example/\"><svg><a href=\"javascript:alert(1)\">y</a></svg></a>"),
    V("noscript in svg", "<svg><noscript><img src=x onerror=alert(1)></noscript>"),
    /* foreign elements named like table parts; the "gumbo abort" rows abort Debian's gumbo 0.10.1 (an assert)
     * when it is let into foreign content */
    V("gumbo abort: svg td in table", "<table><svg><td><title><select></table>"),
    V("gumbo abort: math td in table", "<table><math><td><mi><select></table>"),
    V("foreign td in th", "<table><th><svg><td></tr>"),
    V("gumbo abort: svg td desc", "<table><svg><td><desc><select></table>"),
    V("foreign td in th (math)", "<table><th><math><td></tr>"),
    V("gumbo abort: svg th foreignObject", "<table><svg><th><foreignObject><select></table>"),
    V("foreign th with table in mi", "<math><th><mI><table></table><tr></table><div><tr>0"),
    V("gumbo abort: upper-case SVG", "<TABLE><SVG><TD><TITLE><SELECT></TABLE>"),
    V("self-closed svg in table", "<table><svg/><td><desc><select></table>"),

    /* unclosed and misnested tags */
    V("unclosed b", "<b>unclosed"),
    V("unclosed a", "<a href=\"http://x.example/\">unclosed"),
    V("misnested b i", "<b>1<i>2</b>3</i>"),
    V("misnested b p", "<b>1<p>2</b>3</p>"),
    V("misnested a p", "<a href=\"http://x.example/\">1<p>2</a>3"),
    V("stray end tags", "</a></b></p></blockquote></script>x"),
    V("unclosed tag at end", "x<img src=x onerror=alert(1)"),
    V("unterminated attribute", "<a href=\"http://x.example/ title=y>z"),
    V("tag without name", "< script>alert(1)</script>"),
    V("lone angle brackets", "a < b > c <<>> <3 </>"),
    V("adoption agency many", "<a href=http://x.example/><b><i><u><s><strike>1<div>2</a>3</div>4"),
    V("formatting across blockquote", "<em>a<blockquote>b</em>c</blockquote>d"),
    V("table foster parenting", "<table><b>x<a href=http://x.example/>y</a></b><tr><td>z</td></tr></table>"),
    V("table in a", "<a href=http://a.example/><table><tr><td><a href=http://b.example/>x</a></td></tr></table></a>"),
    V("object resets a", "<a href=http://a.example/><object><a href=http://b.example/>x</a></object></a>"),
    V("nested a direct", "<a href=\"http://a.example/\"><a href=\"http://b.example/\">x</a></a>"),
    V("a in a via template", "<a href=http://a.example/><template><a href=http://b.example/>x</a></template></a>"),
    V("button scope p", "<p><button><p>x</p></button></p>"),
    V("blockquote in q", "<q>a<blockquote>b</blockquote>c</q>"),
    V("select mXSS", "<select><style><img src=x onerror=alert(1)></style></select>"),

    /* attribute quote breaking */
    VM("title quote break", "<a href=\"http://x.example/\" title='\"><script>alert(1)</script>'>x</a>",
       "title=\"&quot;&gt;&lt;script&gt;"),
    V("title apostrophe break", "<abbr title=\"'><img src=x onerror=alert(1)>\">x</abbr>"),
    V("title backtick", "<abbr title=\"`onmouseover=alert(1)\">x</abbr>"),
    V("title entity quotes", "<acronym title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">x</acronym>"),
    V("href quote break", "<a href='http://x.example/\"onmouseover=\"alert(1)'>x</a>"),
    V("href angle break", "<a href=\"http://x.example/><script>alert(1)</script>\">x</a>"),
    V("cite quote break", "<q cite='http://x.example/\" onmouseover=\"alert(1)'>x</q>"),
    V("unquoted attribute swallow", "<a href=http://x.example/ title=x onmouseover=alert(1)>x</a>"),
    V("attribute without value", "<a href title onclick>x</a>"),
    V("equals in name", "<a =\"x\" href=http://x.example/>x</a>"),
    V("long title", "<abbr title=\""
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                    "\">x</abbr>"),
    V("noscript title mXSS", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>"),

    /* comments, CDATA, processing instructions */
    V("comment with script", "<!--><script>alert(1)</script>-->"),
    V("comment dash", "<!---><script>alert(1)</script>-->"),
    V("comment unterminated", "<!-- <script>alert(1)</script>"),
    V("comment nested", "<!-- <!-- --> <img src=x onerror=alert(1)> -->"),
    V("comment bang end", "<!-- x --!><img src=x onerror=alert(1)>"),
    V("conditional comment", "<!--[if IE]><script>alert(1)</script><![endif]-->"),
    V("downlevel revealed", "<![if !IE]><script>alert(1)</script><![endif]>"),
    VM("CDATA in HTML", "<![CDATA[<script>alert(1)</script>]]>", "&lt;![CDATA["),
    V("bogus comment", "<? <img src=x onerror=alert(1)> ?>"),
    V("xml processing instruction", "<?xml version=\"1.0\"?><script>alert(1)</script>"),
    V("doctype", "<!DOCTYPE html><script>alert(1)</script>"),
    V("comment in attribute", "<a href=\"http://x.example/<!--\" title=\"--><img src=x onerror=alert(1)>\">x</a>"),
    V("comment end in b", "<b><!--</b><img src=x onerror=alert(1)>--></b>"),

    /* raw text and escapable raw text elements */
    V("noscript", "<noscript><img src=x onerror=alert(1)></noscript>"),
    V("noscript style", "<noscript><style></noscript><img src=x onerror=alert(1)></style></noscript>"),
    V("template", "<template><script>alert(1)</script></template>"),
    V("template a", "<template><a href=javascript:alert(1)>x</a></template>"),
    V("textarea", "<textarea></textarea><script>alert(1)</script></textarea>"),
    V("textarea mXSS", "<textarea><img title=\"</textarea><img src=x onerror=alert(1)>\"></textarea>"),
    V("title element", "<title><img src=x onerror=alert(1)></title>"),
    V("xmp", "<xmp><img src=x onerror=alert(1)></xmp>"),
    V("xmp breakout", "<xmp></xmp><img src=x onerror=alert(1)></xmp>"),
    V("iframe srcdoc", "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>"),
    V("iframe content", "<iframe><img src=x onerror=alert(1)></iframe>"),
    V("iframe javascript src", "<iframe src=\"javascript:alert(1)\"></iframe>"),
    V("noembed", "<noembed><img title=\"</noembed><img src=x onerror=alert(1)>\"></noembed>"),
    V("noframes", "<noframes><img title=\"</noframes><img src=x onerror=alert(1)>\"></noframes>"),
    V("plaintext", "<plaintext><script>alert(1)</script>"),
    V("listing", "<listing><img src=x onerror=alert(1)></listing>"),
    V("style mXSS title", "<style><a title=\"</style><img src=x onerror=alert(1)>\"></a></style>"),

    /* other dangerous elements and attributes */
    V("base href", "<base href=\"javascript:alert(1)//\">"),
    V("meta refresh", "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">"),
    V("meta refresh data", "<meta http-equiv=refresh content=\"0; url=data:text/html,x\">"),
    V("link stylesheet", "<link rel=stylesheet href=\"http://evil.example/x.css\">"),
    V("link import", "<link rel=import href=\"http://evil.example/x.html\">"),
    V("form action", "<form action=\"javascript:alert(1)\"><button>x</button></form>"),
    V("button formaction", "<button formaction=javascript:alert(1)>x</button>"),
    V("input formaction", "<form><input type=submit formaction=javascript:alert(1)></form>"),
    V("object data", "<object data=\"javascript:alert(1)\"></object>"),
    V("object param", "<object><param name=src value=javascript:alert(1)></object>"),
    V("embed src", "<embed src=\"data:text/html,x\">"),
    V("applet", "<applet code=x>x</applet>"),
    V("img srcset", "<img srcset=\"javascript:alert(1) 1x\">"),
    V("picture source srcset", "<picture><source srcset=x onerror=alert(1)></picture>"),
    VN("style attribute expression", "<b style=\"width:expression(alert(1))\">x</b>", "style"),
    VN("style attribute url", "<i style=\"background:url(javascript:alert(1))\">x</i>", "style"),
    VN("style attribute on a", "<a href=http://x.example/ style=\"position:fixed;top:0\">x</a>", "style"),
    VN("class and id", "<b class=x id=y name=z>x</b>", "class"),
    VN("target blank", "<a href=http://x.example/ target=_blank>x</a>", "target"),
    VN("user rel", "<a href=http://x.example/ rel=\"opener\">x</a>", "rel=\"opener"),
    VN("formaction on code", "<code formaction=x>y</code>", "formaction"),
    VN("xlink href on a", "<a xlink:href=\"javascript:alert(1)\">x</a>", "xlink"),
    V("html body head", "<html><head><script>alert(1)</script></head><body onload=alert(1)>x</body></html>"),
    V("frameset", "<frameset onload=alert(1)>"),
    V("svg in blockquote cite", "<blockquote cite=\"http://x.example/\"><svg onload=alert(1)>x</svg></blockquote>"),

    /* encodings, control characters and odd bytes */
    VL("NUL in text", "a\0b<b>c\0d</b>"),
    V("invalid UTF-8", "\xC0\xBCscript\xC0\xBE alert(1)"),
    V("overlong slash", "<a href=\"http:\xC0\xAF\xC0\xAF"
                        "evil.example/\">x</a>"),
    V("UTF-7 style", "+ADw-script+AD4-alert(1)+ADw-/script+AD4-"),
    V("fullwidth brackets", "\xEF\xBC\x9Cscript\xEF\xBC\x9E"
                            "alert(1)"),
    V("control characters", "\x01\x02\x03<b>\x1f\x7f</b>"),
    V("BOM", "\xEF\xBB\xBF<script>alert(1)</script>"),
    V("entity encoded tags", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    V("double encoded", "&amp;lt;script&amp;gt;alert(1)"),
    V("unknown entity", "&foo; &#xFFFFFF; &#0; &#x110000;"),
    V("control references in text", "a&#1;b&#x7f;c&#x81;d&#xFDD0;e&#xFFFE;f&#x0B;g&#13;h"),
    V("control references in title", "<abbr title=\"&#1;&#x81;&#xFFFF;&#13;&#10;x\">y</abbr>"),
    V("control references in href", "<a href=\"http://x.example/&#x81;&#1;\">y</a>"),
    V("raw controls in a comment", "<!--\x1e\x01\x7f\xC2\x81--><b>\x1e</b>"),
    V("raw controls in a refused tag", "<img\x1e src=\x01x>"),

    /* autolinks */
    V("autolink with javascript query", "http://x.example/?a=javascript:alert(1)"),
    V("autolink quote break", "http://x.example/\"onmouseover=\"alert(1)"),
    V("autolink angle break", "http://x.example/<script>alert(1)</script>"),
    V("autolink entity break", "http://x.example/&quot;&gt;&lt;script&gt;alert(1)"),
    V("autolink in a", "<a href=\"http://a.example/\">http://b.example/</a>"),
    V("autolink javascript", "javascript://x.example/%0aalert(1)"),
};

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

static void test_vector(void **state)
{
    const struct st_vector_t *v = *state;
    size_t len = v->len != 0 ? v->len : strlen(v->in);
    char *out = sanitize_checked(v->in, len);
    if (v->must != NULL && strstr(out, v->must) == NULL)
        fail_msg("output lacks %s\n  out: %s", v->must, out);
    if (v->mustnot != NULL && contains_ci(out, v->mustnot))
        fail_msg("output has %s\n  out: %s", v->mustnot, out);
    free(out);
}

/* ---- exact outputs ---- */

struct st_exact_t {
    const char *name;
    const char *in;
    const char *want;
};

#define REL " rel=\"nofollow ugc noopener\""
#define LINK(url) "<a href=\"" url "\"" REL ">" url "</a>"

static const struct st_exact_t exact[] = {
    /* layout: paragraphs and line breaks */
    {"empty", "", ""},
    {"only whitespace", " \n\n\t \n", ""},
    {"one line", "hello", "<p>hello</p>"},
    {"single newline", "a\nb", "<p>a<br>b</p>"},
    {"blank line", "a\n\nb", "<p>a</p><p>b</p>"},
    {"many blank lines", "a\n\n\n\n\nb", "<p>a</p><p>b</p>"},
    {"blank line with spaces", "a \n \t \n b", "<p>a</p><p>b</p>"},
    {"spaces around a newline dropped", "a  \n  b", "<p>a<br>b</p>"},
    {"leading and trailing space trimmed", "  a b  ", "<p>a b</p>"},
    {"leading and trailing newlines dropped", "\n\na\n", "<p>a</p>"},
    {"CR LF", "a\r\nb\r\n\r\nc", "<p>a<br>b</p><p>c</p>"},
    {"lone CR", "a\rb", "<p>a<br>b</p>"},
    {"inner spacing kept", "a  b\tc", "<p>a  b\tc</p>"},
    {"blank line inside b reopens it", "<b>a\n\nb</b>", "<p><b>a</b></p><p><b>b</b></p>"},
    {"newline inside em", "<em>a\nb</em>", "<p><em>a<br>b</em></p>"},
    {"newline before close moves out", "<b>a\n</b>b", "<p><b>a</b><br>b</p>"},
    {"space before close moves out", "<b>a </b>b", "<p><b>a</b> b</p>"},
    {"space between elements", "<b>x</b> <i>y</i>", "<p><b>x</b> <i>y</i></p>"},
    {"explicit p", "<p>a</p><p>b</p>", "<p>a</p><p>b</p>"},
    {"text after p", "<p>a</p>b", "<p>a</p><p>b</p>"},
    {"explicit br", "a<br>b<br/>c</br>d", "<p>a<br>b<br>c<br>d</p>"},
    {"br at paragraph start", "<br>a", "<p><br>a</p>"},
    {"empty elements dropped", "<b></b><i> </i><p></p>x", "<p>x</p>"},
    {"blockquote", "a<blockquote>q\n\nr</blockquote>b", "<p>a</p><blockquote><p>q</p><p>r</p></blockquote><p>b</p>"},
    {"nested blockquote", "<blockquote>a<blockquote>b</blockquote></blockquote>",
     "<blockquote><p>a</p><blockquote><p>b</p></blockquote></blockquote>"},
    {"b around blockquote", "<b>a<blockquote>b</blockquote>c</b>",
     "<p><b>a</b></p><blockquote><p><b>b</b></p></blockquote><p><b>c</b></p>"},
    {"refused tags as text", "<script>x</script>", "<p>&lt;script&gt;x&lt;/script&gt;</p>"},
    {"refused tag keeps kept children", "<div><b>x</b></div>", "<p>&lt;div&gt;<b>x</b>&lt;/div&gt;</p>"},
    {"refused tag source shown as typed", "<img src=\"a&amp;b\">", "<p>&lt;img src=\"a&amp;amp;b\"&gt;</p>"},
    {"refused tag with newline", "<img\nsrc=x>", "<p>&lt;img<br>src=x&gt;</p>"},
    {"comment as text", "a<!-- c -->b", "<p>a&lt;!-- c --&gt;b</p>"},
    {"svg shown as typed", "<svg onload=x><circle/></svg>", "<p>&lt;svg onload=x&gt;&lt;circle/&gt;&lt;/svg&gt;</p>"},
    {"svg in comment shown as typed", "<!-- <svg> </MATH> -->", "<p>&lt;!-- &lt;svg&gt; &lt;/MATH&gt; --&gt;</p>"},
    {"svg in raw text shown as typed", "<style><svg></style><xmp><math></xmp>",
     "<p>&lt;style&gt;&lt;svg&gt;&lt;/style&gt;&lt;xmp&gt;&lt;math&gt;&lt;/xmp&gt;</p>"},
    {"svg in refused tag shown as typed", "<img alt=\"<math>\">", "<p>&lt;img alt=\"&lt;math&gt;\"&gt;</p>"},
    {"svg in title kept as typed", "<abbr title=\"<svg>\">x</abbr>", "<p><abbr title=\"&lt;svg&gt;\">x</abbr></p>"},
    {"svg-like names untouched", "<svgx>a</svgx> <mathematics>",
     "<p>&lt;svgx&gt;a&lt;/svgx&gt; &lt;mathematics&gt;</p>"},
    {"text escaping", "x<y && \"q\" 'r' > z", "<p>x&lt;y &amp;&amp; \"q\" 'r' &gt; z</p>"},
    {"entities decoded then escaped", "&lt;b&gt; &amp; &copy;&nbsp;", "<p>&lt;b&gt; &amp; \xC2\xA9\xC2\xA0</p>"},
    {"invalid UTF-8 replaced",
     "a\xFF"
     "b\xC3",
     "<p>a\xEF\xBF\xBD"
     "b\xEF\xBF\xBD</p>"},
    {"controls replaced", "a\x01<!--\x1e-->&#1;&#13;b",
     "<p>a\xEF\xBF\xBD&lt;!--\xEF\xBF\xBD--&gt;\xEF\xBF\xBD<br>b</p>"},

    /* autolinks */
    {"autolink", "see http://example.com/x", "<p>see " LINK("http://example.com/x") "</p>"},
    {"autolink https upper case", "HTTPS://Example.com/A", "<p>" LINK("HTTPS://Example.com/A") "</p>"},
    {"autolink trailing period", "see http://example.com/x.", "<p>see " LINK("http://example.com/x") ".</p>"},
    {"autolink trailing punctuation", "http://example.com/x?!;:,'", "<p>" LINK("http://example.com/x") "?!;:,'</p>"},
    {"autolink in parentheses", "(http://example.com/a)", "<p>(" LINK("http://example.com/a") ")</p>"},
    {"autolink balanced parentheses", "(http://en.example.org/wiki/A_(b))",
     "<p>(" LINK("http://en.example.org/wiki/A_(b)") ")</p>"},
    {"autolink in brackets", "[http://example.com/]", "<p>[" LINK("http://example.com/") "]</p>"},
    {"autolink stops at <", "http://example.com/&lt;b", "<p>" LINK("http://example.com/") "&lt;b</p>"},
    {"autolink stops at quote", "\"http://example.com/\"", "<p>\"" LINK("http://example.com/") "\"</p>"},
    {"autolink ampersand escaped", "http://example.com/?a=1&amp;b=2",
     "<p><a href=\"http://example.com/?a=1&amp;b=2\"" REL ">http://example.com/?a=1&amp;b=2</a></p>"},
    {"autolink two URLs and a newline", "http://a.example/\nhttp://b.example/",
     "<p>" LINK("http://a.example/") "<br>" LINK("http://b.example/") "</p>"},
    {"autolink inside b", "<b>http://example.com/</b>", "<p><b>" LINK("http://example.com/") "</b></p>"},
    {"no autolink inside a", "<a href=\"http://a.example/\">http://b.example/</a>",
     "<p><a href=\"http://a.example/\"" REL ">http://b.example/</a></p>"},
    {"no autolink without host", "http:// and http://. and http:///x", "<p>http:// and http://. and http:///x</p>"},
    {"no autolink for other schemes", "ftp://example.com/ www.example.com",
     "<p>ftp://example.com/ www.example.com</p>"},
    {"autolink after refused tag", "<span>http://example.com/</span>",
     "<p>&lt;span&gt;" LINK("http://example.com/") "&lt;/span&gt;</p>"},
    {"autolink IDN",
     "http://b\xC3\xBC"
     "cher.example/",
     "<p>" LINK("http://b\xC3\xBC"
                "cher.example/") "</p>"},

    /* href handling */
    {"href cleaned", "<a href=\" http://x.example/a\tb \">x</a>",
     "<p><a href=\"http://x.example/ab\"" REL ">x</a></p>"},
    {"href dropped, text kept", "<a href=\"javascript:alert(1)\">x</a>", "<p><a" REL ">x</a></p>"},
    {"mailto", "<a href=\"mailto:a@example.com\">mail</a>", "<p><a href=\"mailto:a@example.com\"" REL ">mail</a></p>"},
    {"link spanning paragraphs", "<a href=\"http://x.example/\">a\n\nb</a>",
     "<p><a href=\"http://x.example/\"" REL ">a</a></p><p><a href=\"http://x.example/\"" REL ">b</a></p>"},
    {"nested a shown as text", "<a href=http://a.example/><object><a href=http://b.example/>z</a></object></a>",
     "<p><a href=\"http://a.example/\"" REL
     ">&lt;object&gt;&lt;a href=http://b.example/&gt;z&lt;/a&gt;&lt;/object&gt;</a></p>"},
};

#define NEXACT (sizeof(exact) / sizeof(exact[0]))

static void test_exact(void **state)
{
    const struct st_exact_t *c = *state;
    char *out = sanitize_checked(c->in, strlen(c->in));
    assert_string_equal(out, c->want);
    free(out);
}

/* Every whitelisted element and attribute survives, in its canonical form, and is a fixed point. */
static void test_whitelist_survives(void **state)
{
    static const struct st_exact_t cases[] = {
        {"a", "<a href=\"https://example.com/p?q=1\" title=\"T\">x</a>",
         "<p><a href=\"https://example.com/p?q=1\" title=\"T\"" REL ">x</a></p>"},
        {"a attribute order", "<A TITLE='T' HREF=https://example.com/>x</A>",
         "<p><a href=\"https://example.com/\" title=\"T\"" REL ">x</a></p>"},
        {"abbr", "<abbr title=\"HyperText Markup Language\">HTML</abbr>",
         "<p><abbr title=\"HyperText Markup Language\">HTML</abbr></p>"},
        {"acronym", "<acronym title=\"NASA\">NASA</acronym>", "<p><acronym title=\"NASA\">NASA</acronym></p>"},
        {"b", "<b>x</b>", "<p><b>x</b></p>"},
        {"blockquote", "<blockquote cite=\"http://example.com/src\">x</blockquote>",
         "<blockquote cite=\"http://example.com/src\"><p>x</p></blockquote>"},
        {"cite", "<cite>x</cite>", "<p><cite>x</cite></p>"},
        {"code", "<code>a &lt; b</code>", "<p><code>a &lt; b</code></p>"},
        {"del", "<del datetime=\"2024-01-02T03:04:05.678+01:00\">x</del>",
         "<p><del datetime=\"2024-01-02T03:04:05.678+01:00\">x</del></p>"},
        {"del bad datetime", "<del datetime=\"tomorrow\">x</del>", "<p><del>x</del></p>"},
        {"em", "<em>x</em>", "<p><em>x</em></p>"},
        {"i", "<i>x</i>", "<p><i>x</i></p>"},
        {"q", "<q cite=\"https://example.com/\">x</q>", "<p><q cite=\"https://example.com/\">x</q></p>"},
        {"s", "<s>x</s>", "<p><s>x</s></p>"},
        {"strike", "<strike>x</strike>", "<p><strike>x</strike></p>"},
        {"strong", "<strong>x</strong>", "<p><strong>x</strong></p>"},
        {"p", "<p>x</p>", "<p>x</p>"},
        {"br", "x<br>y", "<p>x<br>y</p>"},
        {"title escaping", "<abbr title=\"a&amp;b &quot;c&quot; 'd' <e>\">x</abbr>",
         "<p><abbr title=\"a&amp;b &quot;c&quot; &#39;d&#39; &lt;e&gt;\">x</abbr></p>"},
        {"title newline", "<abbr title=\"a\nb\">x</abbr>", "<p><abbr title=\"a&#10;b\">x</abbr></p>"},
        {"all nested",
         "<blockquote><b><i><em><strong><s><strike><code><cite><q><del><abbr><acronym><a "
         "href=http://x.example/>x</a></acronym></abbr></del></q></cite></code></strike></s></strong>"
         "</em></i></b></blockquote>",
         "<blockquote><p><b><i><em><strong><s><strike><code><cite><q><del><abbr><acronym><a "
         "href=\"http://x.example/\"" REL ">x</a></acronym></abbr></del></q></cite></code></strike></s></strong>"
         "</em></i></b></p></blockquote>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = sanitize_checked(cases[i].in, strlen(cases[i].in));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%s\n  want: %s\n  got:  %s", cases[i].name, cases[i].want, out);
        free(out);
    }
}

/* Past CORE_HTML_MAX_DEPTH nested elements, the rest is text; far deeper input must not exhaust the stack. */
static void test_depth_limit(void **state)
{
    enum { N = CORE_HTML_MAX_DEPTH + 8 };
    char in[N * 7 + 2], want[N * 10 + 64];
    size_t n = 0, w = 0;
    for (int i = 0; i < N; i++) {
        memcpy(in + n, "<b>", 3);
        n += 3;
    }
    in[n++] = 'x';
    for (int i = 0; i < N; i++) {
        memcpy(in + n, "</b>", 4);
        n += 4;
    }
    in[n] = '\0';

    w += (size_t)snprintf(want + w, sizeof(want) - w, "<p>");
    for (int i = 0; i < CORE_HTML_MAX_DEPTH; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, "<b>");
    for (int i = CORE_HTML_MAX_DEPTH; i < N; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, "&lt;b&gt;");
    w += (size_t)snprintf(want + w, sizeof(want) - w, "x");
    for (int i = CORE_HTML_MAX_DEPTH; i < N; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, "&lt;/b&gt;");
    for (int i = 0; i < CORE_HTML_MAX_DEPTH; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, "</b>");
    snprintf(want + w, sizeof(want) - w, "</p>");

    char *out = sanitize_checked(in, n);
    assert_string_equal(out, want);
    free(out);

    /* An autolink at the limit would be one element too deep for the next pass, so it stays text. */
    char deep[CORE_HTML_MAX_DEPTH * 3 + 32];
    n = 0;
    for (int i = 0; i < CORE_HTML_MAX_DEPTH; i++) {
        memcpy(deep + n, "<i>", 3);
        n += 3;
    }
    memcpy(deep + n, "http://x.example/", 17);
    n += 17;
    out = sanitize_checked(deep, n);
    assert_null(strstr(out, "<a"));
    free(out);

    /* 20000 nested elements of each kind: no crash, still safe. */
    static const char *const opens[] = {"<div>", "<b>", "<a href=http://x.example/>", "<svg>", "<blockquote>"};
    for (size_t k = 0; k < sizeof(opens) / sizeof(opens[0]); k++) {
        size_t ol = strlen(opens[k]), count = 20000;
        char *big = malloc(ol * count + 2);
        assert_non_null(big);
        for (size_t i = 0; i < count; i++)
            memcpy(big + i * ol, opens[k], ol);
        big[ol * count] = 'x';
        out = sanitize_checked(big, ol * count + 1);
        free(out);
        free(big);
    }
}

/* Reopening elements cut by blank lines is bounded: a few long-attributed elements around many blank lines must not
 * multiply the output (the reopens stop once they have cost about the input's size). */
static void test_reopen_budget(void **state)
{
    enum { NEST = 30, TITLE = 1000, PARAS = 2000 };
    size_t cap = NEST * (TITLE + 32) + PARAS * 3 + 1, n = 0;
    char *in = malloc(cap);
    assert_non_null(in);
    for (int i = 0; i < NEST; i++) {
        n += (size_t)snprintf(in + n, cap - n, "<abbr title=\"");
        memset(in + n, 'a' + i % 26, TITLE);
        n += TITLE;
        n += (size_t)snprintf(in + n, cap - n, "\">");
    }
    for (int i = 0; i < PARAS; i++) {
        memcpy(in + n, "x\n\n", 3);
        n += 3;
    }
    size_t out_len;
    char *out = core_html_sanitize(in, n, &out_len);
    assert_true(out_len < 4 * n + 65536);
    free(out);
    out = sanitize_checked(in, n);
    /* The first paragraphs do get the elements reopened. */
    static const char first[] = "<p><abbr title=\"aaaa";
    assert_int_equal(strncmp(out, first, strlen(first)), 0);
    assert_non_null(strstr(out, "</abbr></p><p><abbr title=\"aaaa"));
    free(out);
    free(in);
}

static void test_attr_limit(void **state)
{
    char in[CORE_HTML_MAX_ATTR_LEN + 64];
    char title[CORE_HTML_MAX_ATTR_LEN + 2];

    memset(title, 'a', sizeof(title));
    title[CORE_HTML_MAX_ATTR_LEN] = '\0';
    snprintf(in, sizeof(in), "<abbr title=\"%s\">x</abbr>", title);
    char *out = sanitize_checked(in, strlen(in));
    assert_non_null(strstr(out, "title=\""));
    free(out);

    title[CORE_HTML_MAX_ATTR_LEN] = 'a';
    title[CORE_HTML_MAX_ATTR_LEN + 1] = '\0';
    snprintf(in, sizeof(in), "<abbr title=\"%s\">x</abbr>", title);
    out = sanitize_checked(in, strlen(in));
    assert_string_equal(out, "<p><abbr>x</abbr></p>");
    free(out);

    /* The same limit holds for href, and a long bare URL is left as text rather than linked. */
    memcpy(title, "http://x.example/", 17);
    snprintf(in, sizeof(in), "<a href=\"%s\">x</a>", title);
    out = sanitize_checked(in, strlen(in));
    assert_string_equal(out, "<p><a" REL ">x</a></p>");
    free(out);
    out = sanitize_checked(title, strlen(title));
    assert_null(strstr(out, "<a"));
    free(out);
}

/* LEN is honoured: the bytes after it are never read, and a NUL inside is an ordinary (replaced) character. */
static void test_lengths(void **state)
{
    size_t n = 99;
    char *buf = malloc(5);
    assert_non_null(buf);
    memcpy(buf, "ab<b>", 5);
    char *out = core_html_sanitize(buf, 2, &n);
    assert_string_equal(out, "<p>ab</p>");
    assert_int_equal(n, 9);
    free(out);
    free(buf);

    out = core_html_sanitize(NULL, 0, NULL);
    assert_string_equal(out, "");
    free(out);

    out = core_html_sanitize("a\0b", 3, &n);
    assert_string_equal(out, "<p>a\xEF\xBF\xBD"
                             "b</p>");
    assert_int_equal(n, strlen(out));
    free(out);
}

/* Random documents built from tags and text that interact (formatting elements, tables, foreign content,
 * raw text, blank lines, URLs): every output must pass the checker and be a fixed point. Deterministic (own LCG),
 * so a failure reproduces. */
static void test_structured_random(void **state)
{
    static const char *const tokens[] = {"<b>",
                                         "</b>",
                                         "<a href=http://x.example/>",
                                         "</a>",
                                         "<a>",
                                         "<p>",
                                         "</p>",
                                         "<blockquote>",
                                         "</blockquote>",
                                         "\n",
                                         "\n\n",
                                         " ",
                                         "x",
                                         "http://y.example/z",
                                         "<div>",
                                         "</div>",
                                         "<svg>",
                                         "<foreignObject>",
                                         "</svg>",
                                         "<table>",
                                         "<tr>",
                                         "<td>",
                                         "</table>",
                                         "<object>",
                                         "</object>",
                                         "<br>",
                                         "<i>",
                                         "</i>",
                                         "(",
                                         ")",
                                         ".",
                                         "<template>",
                                         "</template>",
                                         "<!--",
                                         "-->",
                                         "&amp;",
                                         "<math><mi>",
                                         "<select>",
                                         "<li>",
                                         "<button>",
                                         "<h1>",
                                         "<pre>",
                                         "<code>",
                                         "</code>",
                                         "<q cite=https://q.example/>",
                                         "</q>",
                                         "<em>",
                                         "</em>",
                                         "<u>",
                                         "</u>",
                                         "<font>",
                                         "<nobr>",
                                         "<s>",
                                         "</s>",
                                         "<strike>",
                                         "<abbr title=t>",
                                         "</abbr>",
                                         "<del datetime=2020>",
                                         "</del>",
                                         "\t",
                                         "<textarea>",
                                         "</textarea>",
                                         "<style>",
                                         "</style>",
                                         "<script>",
                                         "</script>",
                                         "<xmp>",
                                         "<plaintext>",
                                         "<noscript>",
                                         "<title>",
                                         "<iframe>",
                                         "<caption>",
                                         "<marquee>",
                                         "<applet>",
                                         "<desc>",
                                         "<mtext>",
                                         "<annotation-xml encoding=text/html>",
                                         "<image>",
                                         "<isindex>",
                                         "\r",
                                         "&#13;",
                                         "&#1;",
                                         "\xC2\xA0",
                                         "https://z.example/a_(b)",
                                         "<frameset>",
                                         "<body>",
                                         "<html>",
                                         "<form>",
                                         "</form>",
                                         "<dd>",
                                         "<option>",
                                         "<ruby>",
                                         "<rt>",
                                         "<hr>",
                                         "<img>",
                                         "<input>",
                                         "<wbr>",
                                         "<th>",
                                         "<tbody>",
                                         "</tr>",
                                         "</td>"};
    const size_t ntok = sizeof(tokens) / sizeof(tokens[0]);
    uint32_t seed = 12345;
    char buf[4096];
    for (int run = 0; run < 3000; run++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        int count = 1 + (int)((seed >> 16) % 50);
        for (int i = 0; i < count; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *t = tokens[(seed >> 16) % ntok];
            size_t tl = strlen(t);
            if (len + tl >= sizeof(buf))
                break;
            memcpy(buf + len, t, tl);
            len += tl;
        }
        free(sanitize_checked(buf, len));
    }
}

static void test_count_links(void **state)
{
    static const struct {
        const char *in;
        size_t want;
    } cases[] = {
        {"", 0},
        {"no links here", 0},
        {"<a href=\"http://x.example/\">x</a>", 1},
        {"http://a.example/ and https://b.example/", 2},
        {"<a href=\"javascript:alert(1)\">x</a>", 0},
        {"<a title=x>y</a> <a href=mailto:a@example.com>m</a>", 1},
        {"<a href=\"http://x.example/\">a\n\nb</a>", 2},
        {"&lt;a href=\"http://x.example/\"&gt;", 1}, /* the text mentions a URL, which is autolinked */
        {"<code>&lt;a href=x&gt;</code>", 0},
        {"<svg><a href=\"x\">x</a></svg>", 0},
        {"<svg><a href=\"http://x.example/\">x</a></svg>", 1}, /* shown as text, whose URL is autolinked */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        char *out = core_html_sanitize(cases[i].in, strlen(cases[i].in), &n);
        if (core_html_count_links(out, n) != cases[i].want)
            fail_msg("%s: want %zu links in %s", cases[i].in, cases[i].want, out);
        if (core_html_count_sanitized_links(out, n) != cases[i].want)
            fail_msg("%s: want %zu links (without parsing) in %s", cases[i].in, cases[i].want, out);
        free(out);
    }
    /* Raw HTML is counted as a browser would see it. */
    static const char raw[] = "<a href=x>1</a><A HREF=y>2</A><a>3</a><a href>4</a>";
    assert_int_equal(core_html_count_links(raw, strlen(raw)), 3);
    assert_int_equal(core_html_count_links(NULL, 0), 0);
}

/* Plain text (no '<', '&' or CR) skips the parser; the output must be the parser path's, byte for byte. Fixed
 * cases for every layout rule, then random texts over an alphabet that stresses them. */
static void same_both_ways(const char *in, size_t len)
{
    size_t a_len, b_len;
    char *a = core_html_sanitize(in, len, &a_len), *b = core_html_sanitize_parsed(in, len, &b_len);
    if (a_len != b_len || memcmp(a, b, a_len) != 0)
        fail_msg("shortcut differs: [%.*s] fast [%s] parsed [%s]", (int)len, in, a, b);
    free(a);
    free(b);
}

static void test_plain_text_shortcut(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        " ",
        "\n",
        "\n\n\n",
        "hello",
        "  leading and trailing  ",
        "one\ntwo",
        "para one\n\npara two",
        "a\n\n\n\nb",
        "\n\nstarts with blank lines",
        "ends with blank lines\n\n",
        "tab\there\fform feed",
        "see https://example.com/a?b=1 and http://x.example.",
        "mailto:a@example.com www.example.com",
        "(https://example.com/x), https://example.com/y.",
        "quotes \" and ' and > alone",
        "caf\xc3\xa9 \xf0\x9f\x98\x80",
        "bad utf-8 \xff\xfe here",
        "nul\0inside",
        "ctrl \x01\x7f chars",
        "https://",
        "a\n b\n  c",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        same_both_ways(cases[i], i == 18 ? 10 : strlen(cases[i]));
    static const char *const parts[] = {" ",
                                        "\n",
                                        "\n\n",
                                        "\t",
                                        "word",
                                        "https://example.com/p?q=1",
                                        "x.",
                                        "é",
                                        "\xe2\x80\xa8",
                                        ">",
                                        "\"",
                                        "'",
                                        "(",
                                        ")",
                                        "http://a",
                                        "www.b.example",
                                        "\x0b",
                                        "\xc2\xa0"};
    srand(7);
    char buf[512];
    for (int round = 0; round < 3000; ++round) {
        size_t n = 0;
        for (int k = rand() % 24; k > 0; --k) {
            const char *p = parts[rand() % (int)(sizeof(parts) / sizeof(parts[0]))];
            size_t pl = strlen(p);
            if (n + pl >= sizeof(buf))
                break;
            memcpy(buf + n, p, pl);
            n += pl;
        }
        same_both_ways(buf, n);
    }
}

/* Simple markup (whitelisted inline tags as "<b>"/"</b>", strictly nested and closed) also skips the parser; the
 * output must be the parser path's. Fixed cases at and just past every condition of the shortcut (those past it go
 * to the parser on both sides, which the comparison covers too), then random trees of tags and text. */
static void test_simple_markup_shortcut(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "<b>bold</b>",
        "a <b>b</b> c",
        "a<b>b</b>c",
        "<b><i>x</i></b>",
        "<b>x</b><b>y</b>",
        "<b></b>",
        "<b> </b>",
        "<b>\n</b>",
        "<b>one\n\ntwo</b>",
        "<em>one\ntwo</em>\n\nthree",
        "\n\n<b>x</b>\n\n",
        "<b>https://example.com/x</b>",
        "see <b>https://example.com/x</b>.",
        "<code>x > y</code>",
        "<q>q</q> <cite>c</cite> <abbr>a</abbr> <acronym>b</acronym> <del>d</del> <s>s</s> <strike>t</strike> "
        "<strong>u</strong> <em>e</em> <i>i</i> <code>c</code>",
        "<b><b><b><b><b>five bold</b></b></b></b></b>",
        "<b><i><em><strong><code><s><q><cite>8 deep</cite></q></s></code></strong></em></i></b>",
        "<b><i><em><strong><code><s><q><cite><del>9 deep</del></cite></q></s></code></strong></em></i></b>",
        "<b><i>x</b></i>",
        "<b>x",
        "x</b>",
        "</b>",
        "<B>x</B>",
        "<b >x</b>",
        "<b>x</b >",
        "<b class=x>y</b>",
        "<b/>x",
        "<a>x</a>",
        "<p>x</p>",
        "x<br>y",
        "<blockquote>x</blockquote>",
        "<<b>x</b>",
        "<b>x</b>>",
        "<bb>x</bb>",
        "<u>x</u>",
        "<b>x</b\n>",
        "<b>a &amp; b</b>",
        "<b>a\r\nb</b>",
        "<b>caf\xc3\xa9</b> \xf0\x9f\x98\x80",
        "<b>bad \xff utf-8</b>",
        "<svg><b>x</b></svg>",
        "<b>x</b><!-- c -->",
        "<b>\"q\" 'a'</b>",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        same_both_ways(cases[i], strlen(cases[i]));
    same_both_ways("<b>nul\0inside</b>", 17);
    static const char *const tags[] = {"b", "i", "em", "strong", "code", "q", "cite", "s", "del", "abbr"};
    static const char *const texts[] = {
        " ",  "\n", "\n\n", "word", "https://example.com/p?q=1", "x.", "é", ">", "\"", "(", ")", "www.b.example",
        "\t", "a b"};
    srand(11);
    char buf[1024];
    for (int round = 0; round < 5000; ++round) {
        size_t n = 0, depth = 0;
        const char *open[12];
        for (int k = 4 + rand() % 28; k > 0 && n + 40 < sizeof(buf); --k) {
            int what = rand() % 3;
            if (what == 0 && depth < 12) {
                open[depth] = tags[rand() % (int)(sizeof(tags) / sizeof(tags[0]))];
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "<%s>", open[depth++]);
            } else if (what == 1 && depth > 0) {
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "</%s>", open[--depth]);
            } else {
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s",
                                      texts[rand() % (int)(sizeof(texts) / sizeof(texts[0]))]);
            }
        }
        while (depth > 0 && rand() % 8 != 0) /* mostly closed; sometimes left open */
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "</%s>", open[--depth]);
        if (rand() % 10 == 0 && n > 2) { /* a defect: swap two bytes */
            size_t a = (size_t)rand() % n, b = (size_t)rand() % n;
            char c = buf[a];
            buf[a] = buf[b];
            buf[b] = c;
        }
        same_both_ways(buf, n);
    }
}

static void test_escape(void **state)
{
    char buf[64];
    static const char in[] = "a&b<c>d\"e'f";
    static const char want[] = "a&amp;b&lt;c&gt;d&quot;e&#39;f";

    assert_int_equal(core_html_escape(in, strlen(in), NULL, 0), strlen(want));
    assert_int_equal(core_html_escape(in, strlen(in), buf, sizeof(buf)), strlen(want));
    assert_string_equal(buf, want);

    assert_int_equal(core_html_escape("plain\ntext", 10, buf, sizeof(buf)), 10);
    assert_string_equal(buf, "plain\ntext");
    assert_int_equal(core_html_escape("", 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");

    /* Truncation: never inside an entity, always NUL-terminated, return value unchanged. */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(core_html_escape(in, strlen(in), buf, 4), strlen(want));
    assert_string_equal(buf, "a");
    assert_int_equal(core_html_escape(in, strlen(in), buf, 7), strlen(want));
    assert_string_equal(buf, "a&amp;");
    assert_int_equal(core_html_escape("abc", 3, buf, 3), 3);
    assert_string_equal(buf, "ab");
    assert_int_equal(core_html_escape("abc", 3, buf, 1), 3);
    assert_string_equal(buf, "");

    /* LEN is honoured past a NUL. */
    assert_int_equal(core_html_escape("a\0<", 3, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "a\0&lt;", 7);
}

int main(void)
{
    static struct CMUnitTest vector_tests[NVECTORS];
    static struct CMUnitTest exact_tests[NEXACT];
    for (size_t i = 0; i < NVECTORS; i++)
        vector_tests[i] = (struct CMUnitTest){vectors[i].name, test_vector, NULL, NULL, (void *)&vectors[i]};
    for (size_t i = 0; i < NEXACT; i++)
        exact_tests[i] = (struct CMUnitTest){exact[i].name, test_exact, NULL, NULL, (void *)&exact[i]};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whitelist_survives),  cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_attr_limit),          cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_reopen_budget),       cmocka_unit_test(test_structured_random),
        cmocka_unit_test(test_count_links),         cmocka_unit_test(test_escape),
        cmocka_unit_test(test_plain_text_shortcut), cmocka_unit_test(test_simple_markup_shortcut),
    };
    int failed = cmocka_run_group_tests_name("core_html XSS vectors", vector_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("core_html exact outputs", exact_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("core_html", tests, NULL, NULL);
    return failed != 0;
}
