/* Deal Pulse widget: calls to our API, only through amoCRM's one-time tokens (self.$authorizedAjax, FACTS §2), and
   what a failed call tells the user. */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var esc = format.esc, el = format.el, div = format.div, button = format.button;

  /** The API of one widget object: `self` is amoCRM's widget, API_BASE our public URL, `t` its texts. */
  return function api(self, API_BASE, t) {
    /** One API call through amoCRM's one-time token; a jQuery promise of the JSON answer. */
    function call(method, path, body, retried) {
      var options = {url: API_BASE + '/api/v1' + path, type: method, dataType: 'json', timeout: 15000};
      if (body !== undefined) {
        options.data = JSON.stringify(body);
        options.contentType = 'application/json';
      }
      if (retried) { return self.$authorizedAjax(options); }
      // A token the service saw before (token_replayed): once more with a fresh $authorizedAjax token.
      var answer = $.Deferred();
      self.$authorizedAjax(options).done(answer.resolve).fail(function (xhr) {
        var code = xhr && xhr.responseJSON && xhr.responseJSON.error;
        if (xhr && xhr.status === 401 && code === 'token_replayed') {
          call(method, path, body, true).done(answer.resolve).fail(answer.reject);
        } else {
          answer.reject.apply(answer, arguments);
        }
      });
      return answer.promise();
    }

    /** What went wrong, in words the user can act on. */
    function failure(xhr) {
      var status = xhr && xhr.status;
      if (!status) { return t('common.error_offline'); }
      if (status === 401 || status === 403) { return t('common.error_denied'); }
      if (status === 429) { return t('common.error_busy'); }
      if (status === 503) { return t('common.error_unavailable'); }
      return t('common.error_generic');
    }

    function errorBox(xhr, retryAction) {
      return '<div class="' + el('error') + '" role="alert">' + esc(failure(xhr)) +
        (retryAction ? '<br>' + button(retryAction, t('common.retry')) : '') + '</div>';
    }

    function loadingBox(key) {
      return div('loading', esc(t(key)));
    }

    return {call: call, failure: failure, errorBox: errorBox, loadingBox: loadingBox};
  };
});
