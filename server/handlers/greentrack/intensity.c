/* SPDX-License-Identifier: MIT
 *
 * intensity: GET /api/2.0/greentrack/intensity?country=&region=
 * &cloud_provider=&cloud_region=&pue=: the carbon intensity and PUE the
 * compiled-in tables give for a location (read-only; see carbon.h).
 */
#include "carbon.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "render.h"

enum handler_result h_intensity(struct request *req, struct response *res)
{
    struct errbuf eb;
    struct carbon_location loc;
    const char *pue_tag;
    enum srv_err e;
    if ((e = jx_str(req->args, "country", false, &loc.country, &eb)) ||
        (e = jx_str(req->args, "region", false, &loc.region, &eb)) ||
        (e = jx_str(req->args, "cloud_provider", false, &loc.cloud_provider,
                    &eb)) ||
        (e = jx_str(req->args, "cloud_region", false, &loc.cloud_region,
                    &eb)) ||
        (e = jx_str(req->args, "pue", false, &pue_tag, &eb)))
        return h_fail(res, e, &eb);
    struct carbon_intensity ci;
    carbon_intensity_lookup(&loc, &ci);
    const char *pue_source;
    double pue =
        carbon_pue_for(pue_tag, loc.cloud_provider,
                       store_default_pue(req->app->store), &pue_source);
    static const char *const bases[] = {"cloud_region", "subnational",
                                        "country", "world"};
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    render_key(&sb, "intensity_g_per_kwh", true);
    strbuf_append_json_double(&sb, ci.g_per_kwh);
    render_str_field(&sb, "basis", bases[ci.basis], false);
    render_str_field(&sb, "source", ci.source, false);
    render_key(&sb, "location_known", false);
    strbuf_append_str(&sb, ci.location_known ? "true" : "false");
    render_num_field(&sb, "pue", pue, false);
    render_str_field(&sb, "pue_source", pue_source, false);
    strbuf_append_char(&sb, '}');
    api_ok(res, &sb);
    return H_DONE;
}
