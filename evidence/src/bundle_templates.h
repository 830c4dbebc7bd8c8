// The bundle's text templates and their labels, compiled in from web/public/ (the files the
// browser verifier loads), so that notaryd, notary-verify and /verify render from one source.
#pragma once

#include <string_view>

namespace notary::bundle_internal {

std::string_view CertificateTemplate();    // web/public/cert_template.html (texts version 2)
std::string_view CertificateTemplateV1();  // web/public/cert_template_v1.html, frozen
std::string_view VerifyTemplate();         // web/public/verify_template.md
std::string_view TextLabels();             // web/public/cert_labels.json: {lang: {key: text}}

}  // namespace notary::bundle_internal
