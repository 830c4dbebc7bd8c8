// notaryctl tsa-ca: the root certificate of the notary's built-in time-stamp authority, to pin
// in verifiers (`notary-verify --tsa-ca`), printed from the data directory so that a set-up
// script or the README's second terminal needs no path the reader must find.
#pragma once

#include <string>

namespace cli {

// Writes the roots as PEM to stdout and the subject and SHA-256 fingerprint of each to stderr
// (to compare with what the operator publishes): <data-dir>/tsa/ca.pem, the root of notaryd's
// own authority, and the last certificate of <data-dir>/tsa/signer-chain.pem, the chain
// notaryd keeps of notary-signer's authority; both when both exist (after a move to the
// signer, the old root still verifies the old tokens). Each must be a self-signed CA.
// Exit status: 0 printed, 1 no root there, an unreadable file, or not a self-signed CA.
int RunTsaCa(const std::string& data_dir);

}  // namespace cli
