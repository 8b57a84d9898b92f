// Progressive enhancement only: every page works without this script. It is an external module
// (never inline) so that a Content-Security-Policy without 'unsafe-inline' allows it, and browsers
// too old for ES modules skip it and keep the plain, working pages.
//
// The path is relative to this file, so it resolves to /static/govuk/govuk-frontend.min.js
// (served from node_modules through the "govuk" STATICFILES_DIRS prefix) whatever STATIC_URL is.
import { initAll } from "../govuk/govuk-frontend.min.js";

// GOV.UK Frontend's components check for this class before they enhance anything, and its
// styles for enhanced components hang off it.
document.body.classList.add("govuk-frontend-supported");
initAll();
