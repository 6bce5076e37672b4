/*
 * Boots GraphiQL for the Sales API. It is a file of its own, never an inline script, so
 * the page's Content-Security-Policy can refuse every inline script.
 */
(function () {
  "use strict";

  var TOKEN_PLACEHOLDER = "Bearer <paste a token from POST /oauth/token>";

  // What every call needs (README "Requests"); a new user sees what to fill in.
  var DEFAULT_HEADERS = JSON.stringify(
    {
      Authorization: TOKEN_PLACEHOLDER,
      "Entur-POS": "explorer",
      "Entur-Distribution-Channel": "ENT:DistributionChannel:Web",
    },
    null,
    2
  );

  var DEFAULT_QUERY = [
    "# The Sales API explorer.",
    "#",
    "# 1. Get a token from POST /oauth/token (client credentials, see the README),",
    "#    or run: sales-api token --client-id demo-app",
    "# 2. Paste it into the Headers below, after 'Bearer '.",
    "# 3. Run this query: the play button, or Ctrl-Enter.",
    "",
    "query Orders {",
    "  orders(page: 1, perPage: 20) {",
    "    items {",
    "      id",
    "      status",
    "      totalAmount",
    "      createdAt",
    "    }",
    "    totalItems",
    "    totalPages",
    "  }",
    "}",
    "",
  ].join("\n");

  // Answered instead of calling the service while there is no token (the schema is
  // fetched on load): a 401 would say the same less helpfully, and log a failed request.
  var NEEDS_TOKEN = {
    data: null,
    errors: [
      {
        message:
          "No token yet: get one from POST /oauth/token and paste it into the " +
          "Authorization header (Headers, below the query) after 'Bearer '.",
      },
    ],
  };

  /** The bearer token in a headers object, or null when it is missing or the placeholder. */
  function bearerToken(headers) {
    if (!headers || typeof headers !== "object") {
      return null;
    }
    for (var name in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, name) && name.toLowerCase() === "authorization") {
        var match = /^Bearer\s+([^\s<>]+)$/i.exec(String(headers[name]).trim());
        return match ? match[1] : null;
      }
    }
    return null;
  }

  function tokenInText(text) {
    try {
      return bearerToken(JSON.parse(text || "{}"));
    } catch (error) {
      return null; // half-typed JSON
    }
  }

  // GraphiQL's history keeps the headers of every run in localStorage, even with
  // shouldPersistHeaders off (graphiql 4.1). This storage drops them on the way in, so a
  // token never outlives the page; history keeps the queries and variables.
  var HISTORY_KEYS = ["graphiql:queries", "graphiql:favorites"];

  function withoutHeaders(key, value) {
    if (HISTORY_KEYS.indexOf(key) < 0) {
      return value;
    }
    try {
      var stored = JSON.parse(value);
      Object.keys(stored).forEach(function (list) {
        (Array.isArray(stored[list]) ? stored[list] : []).forEach(function (item) {
          delete item.headers;
        });
      });
      return JSON.stringify(stored);
    } catch (error) {
      return value;
    }
  }

  function graphiqlKeys() {
    return Object.keys(window.localStorage).filter(function (key) {
      return key.indexOf("graphiql:") === 0;
    });
  }

  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      window.localStorage.setItem(key, withoutHeaders(key, value));
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    clear: function () {
      graphiqlKeys().forEach(function (key) {
        window.localStorage.removeItem(key);
      });
    },
    get length() {
      return graphiqlKeys().length;
    },
  };

  var container = document.getElementById("graphiql");
  // GraphiQL's dialogs add a <style> element (react-style-singleton, which reads
  // __webpack_nonce__); it carries this nonce, which the page's CSP names.
  window.__webpack_nonce__ = container.getAttribute("data-style-nonce") || undefined;
  var graphqlUrl = new URL(container.getAttribute("data-graphql-url"), window.location.href);
  var httpFetcher = GraphiQL.createFetcher({ url: graphqlUrl.toString() });
  var plugins = [GraphiQLPluginExplorer.explorerPlugin()];

  var socketUrl = new URL(graphqlUrl.toString());
  socketUrl.protocol = graphqlUrl.protocol === "https:" ? "wss:" : "ws:";

  /** The kind of operation params would run: "query", "mutation" or "subscription". */
  function operationKind(params) {
    var text = String(params.query || "").replace(/#[^\n]*/g, "");
    var pattern = /(?:^|\})\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/g;
    var found = null;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (!params.operationName || match[2] === params.operationName) {
        found = found || match[1];
      }
    }
    return found || "query";
  }

  /**
   * A subscription over the graphql-transport-ws protocol, as GraphiQL wants it: an async
   * iterator of results. The headers go in connection_init (a socket has no headers).
   */
  function subscribeOverSocket(params, headers) {
    var queue = [];
    var waiting = null;
    var finished = false;
    var socket = new WebSocket(socketUrl.toString(), "graphql-transport-ws");

    function push(item) {
      if (finished) {
        return;
      }
      if (item.done) {
        finished = true;
      }
      if (waiting) {
        var resolve = waiting;
        waiting = null;
        resolve(item);
      } else {
        queue.push(item);
      }
    }

    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "connection_init", payload: headers || {} }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: params }));
      } else if (message.type === "next") {
        push({ value: message.payload, done: false });
      } else if (message.type === "error") {
        push({ value: { errors: message.payload }, done: false });
        push({ value: undefined, done: true });
      } else if (message.type === "complete") {
        push({ value: undefined, done: true });
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = function (event) {
      if (!finished) {
        var why = "The subscription's socket closed (" + event.code + " " + event.reason + ")";
        push({ value: { errors: [{ message: why }] }, done: false });
        push({ value: undefined, done: true });
      }
    };

    var iterator = {
      next: function () {
        if (queue.length) {
          return Promise.resolve(queue.shift());
        }
        if (finished) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise(function (resolve) {
          waiting = resolve;
        });
      },
      return: function () {
        finished = true;
        if (socket.readyState <= 1) {
          socket.close(1000, "done");
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  function fetcherFor(token) {
    // A new function per token: GraphiQL fetches the schema again when its fetcher
    // changes, so pasting a token loads the docs and completion without a reload.
    return function fetcher(params, options) {
      var headers = options && options.headers;
      if (!bearerToken(headers)) {
        return Promise.resolve(NEEDS_TOKEN);
      }
      if (operationKind(params) === "subscription") {
        return subscribeOverSocket(params, headers);
      }
      return httpFetcher(params, options);
    };
  }

  function SalesExplorer() {
    var tokenState = React.useState(null);
    var token = tokenState[0];
    var setToken = tokenState[1];
    var fetcher = React.useMemo(
      function () {
        return fetcherFor(token);
      },
      [token]
    );
    var pending = React.useRef(0);

    function onEditHeaders(text) {
      // Waits for typing to stop, so a half-pasted token is never sent.
      window.clearTimeout(pending.current);
      pending.current = window.setTimeout(function () {
        setToken(tokenInText(text));
      }, 500);
    }

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      // Tokens stay out of localStorage (with the storage above for the history).
      shouldPersistHeaders: false,
      storage: storage,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
      onEditHeaders: onEditHeaders,
    });
  }

  ReactDOM.createRoot(container).render(React.createElement(SalesExplorer));
})();
