// An entry that does nothing: what running from any userland snapshot costs (measure.sh's empty-blob case).
require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {});
