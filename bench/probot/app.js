// The Probot app `make bench` compares intake with: it handles every event and
// returns at once, storing nothing. Probot checks the signature, parses the
// body and answers 200 once every handler has returned.
module.exports = (app) => {
  app.onAny(async () => {});
};
