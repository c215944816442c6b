/*
 * webapp_catalogue.c: the catalogue page of the phone web app (webapp_catalogue, declared
 * in webapp.h): the sites and the items of the network, with each item's unit, category
 * and packs, so a person at a phone can see what to type; an item by its name in the page's
 * language when it has one (item.name). Read-only; reads through the
 * read model (query.h) under store_guarded, like every page; names are html-escaped and
 * kept in their own direction (bdi) on a right-to-left page.
 */
#include <stdio.h>
#include <string.h>

#include "am_err.h"
#include "html.h"
#include "i18n.h"
#include "query.h"
#include "relief.h"
#include "webapp.h"
#include "webapp_int.h"

/* The kinds of site (relief_kind_names), for the catalogue's extraction. */
static const char *const kinds[] = {"",
                                    I18N_NOOP("hub"),
                                    I18N_NOOP("shelter"),
                                    I18N_NOOP("clinic"),
                                    I18N_NOOP("warehouse"),
                                    I18N_NOOP("kit")};

struct cat_run {
    const struct webapp_ctx *w;
    FILE *f;
};

/* A register's text, escaped, in its own direction (bdi); `or` when it holds none. */
static void reg_cell(FILE *f, const struct relief_node_reg *r, const char * or)
{
    size_t n;
    const char *s = query_reg_text(r, &n);
    fputs("<bdi>", f);
    if (n)
        html_esc(f, s, n);
    else
        html_escs(f, or);
    fputs("</bdi>", f);
}

/* A name over its code in small type. */
static void name_cell(FILE *f, const struct relief_node_reg *name, const char *code)
{
    fputs("<td>", f);
    reg_cell(f, name, code);
    fputs("<br><small>", f);
    html_escs(f, code);
    fputs("</small></td>", f);
}

/* An item's name in the page's language (its name in that language, else its own name:
 * query_item_name) over its code in small type. */
static void item_cell(FILE *f, struct query *q, const char *code, int l)
{
    size_t n;
    const char *s = query_item_name(q, code, i18n_code(l), &n);
    fputs("<td><bdi>", f);
    html_esc(f, s, n);
    fputs("</bdi><br><small>", f);
    html_escs(f, code);
    fputs("</small></td>", f);
}

static int cat_build(void *ctx)
{
    struct cat_run *r = ctx;
    FILE *f = r->f;
    int l = r->w->lang;
    struct query *q = NULL;
    const struct relief_node_site *sites;
    const struct relief_node_item *items;
    const struct query_pack *packs = NULL;
    size_t ns = 0, ni = 0, np = 0, k = 0;
    char num[I18N_NUM_MAX], count[160];
    int rc = query_open(r->w->n->store, 0, &q);

    if (rc == AM_OK)
        rc = query_sites(q, &sites, &ns);
    if (rc == AM_OK)
        rc = query_items(q, &items, &ni);
    if (rc == AM_OK)
        rc = query_packs(q, NULL, 0, &packs, &np);
    if (rc != AM_OK) {
        query_close(q);
        return rc;
    }
    webapp_page_top(f, r->w, i18n_s(l, "Catalogue"));

    fprintf(f, "<h2>%s</h2>\n", i18n_s(l, "Sites"));
    i18n_num(l, (long long)ns, num);
    fputs("<p>", f);
    fprintf(f, i18n_n(l, "%s site", "%s sites", ns), num);
    fputs("</p>\n", f);
    if (ns) {
        fprintf(f, "<table><tr><th>%s</th><th>%s</th></tr>\n", i18n_s(l, "site"),
                i18n_s(l, "kind"));
        for (size_t i = 0; i < ns && i < WEBAPP_ROWS_MAX; i++) {
            const struct relief_node_site *s = &sites[i];
            fputs("<tr class=\"site\">", f);
            name_cell(f, &s->name, s->slug);
            fprintf(f, "<td>%s</td></tr>\n",
                    s->kind.n_heads && s->kind.i > 0 &&
                            s->kind.i < (int64_t)(sizeof kinds / sizeof kinds[0])
                        ? i18n_s(l, kinds[s->kind.i])
                        : "");
        }
        fputs("</table>\n", f);
    }

    fprintf(f, "<h2>%s</h2>\n", i18n_s(l, "Items"));
    i18n_num(l, (long long)ni, num);
    snprintf(count, sizeof count, i18n_n(l, "%s item", "%s items", ni), num);
    fprintf(f, "<p>%s</p>\n", count);
    if (ni) {
        fprintf(f, "<table><tr><th>%s</th><th>%s</th><th>%s</th></tr>\n", i18n_s(l, "item"),
                i18n_s(l, "unit"), i18n_s(l, "packs"));
        for (size_t i = 0; i < ni && i < WEBAPP_ROWS_MAX; i++) {
            const struct relief_node_item *it = &items[i];
            int first = 1;
            fputs("<tr class=\"item\">", f);
            item_cell(f, q, it->code, l);
            fputs("<td>", f);
            reg_cell(f, &it->unit, "");
            fputs("<br><small>", f);
            reg_cell(f, &it->cat, "");
            fputs("</small></td><td>", f);
            /* packs come by item then pack name, as items do by code */
            while (k < np && strcmp(packs[k].item, it->code) < 0)
                k++;
            for (; k < np && !strcmp(packs[k].item, it->code); k++) {
                i18n_num(l, packs[k].units, num);
                fprintf(f, "%s<bdi>", first ? "" : "<br>");
                html_escs(f, packs[k].pack);
                fprintf(f, "</bdi> = %s", num);
                first = 0;
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    if (ns > WEBAPP_ROWS_MAX || ni > WEBAPP_ROWS_MAX) {
        fputs("<p>", f);
        fprintf(f, i18n_s(l, "The first %d of each are shown."), WEBAPP_ROWS_MAX);
        fputs("</p>\n", f);
    }
    fputs("</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

int webapp_catalogue(const struct webapp_ctx *w, char **out, size_t *len)
{
    struct cat_run r = {.w = w};
    return webapp_render(w->n, cat_build, &r, &r.f, out, len);
}
