package classify

import "strconv"

func itoa(i int) string { return strconv.Itoa(i) }

// transactionalBatch builds a 202 transactional send body with n
// per-recipient 109106 errors and one accepted recipient.
func transactionalBatch(n int) []byte {
	var b []byte
	b = append(b, `{"requestId":"3f1c","errorcode":109001,"message":"MCMS_UTM_ResponsesHasErrors: `...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ` subscribers failed to queue","responses":[`...)
	for i := 0; i < n; i++ {
		b = append(b, `{"messageKey":"key-`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","errorcode":109106,"message":"MCMS_UTM_Validation_MissingRequiredField_to: Invalid subscriber"},`...)
	}
	b = append(b, `{"messageKey":"ok"}]}`...)
	return b
}
