/* A protobuf-c sink that streams a packed message into an lsc_out_file, asking for
 * lazily produced payloads at their placeholders (onnx_model.h). */
#include <string.h>

#include "onnx/onnx_model.h"

#define SINK_DROP_MIN (64u << 10)

static void sink_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    lsc_pb_sink *sink = (lsc_pb_sink *)buffer;
    if (sink->status != LSC_OK)
        return;
    if (sink->placeholders && data >= sink->placeholders &&
        data < sink->placeholders + sink->n_placeholders) {
        size_t index = (size_t)(data - sink->placeholders);
        uint64_t before = sink->out->written;
        sink->status = sink->produce(sink->produce_ctx, index, sink->out, &sink->error);
        if (sink->status == LSC_OK && sink->out->written - before != len)
            sink->status = lsc_fail(&sink->error, LSC_ERR_INTERNAL,
                                    "%s: payload %zu has %llu bytes, expected %zu",
                                    sink->out->final_path, index,
                                    (unsigned long long)(sink->out->written - before), len);
        return;
    }
    lsc_out_write(sink->out, data, len);
    /* A payload copied out of an input mapping is not needed in memory any more. */
    const lsc_map *m = sink->drop_map;
    if (m && m->data && data >= m->data && data < m->data + m->size && len >= SINK_DROP_MIN)
        lsc_map_release(data, len);
}

void lsc_pb_sink_init(lsc_pb_sink *sink, lsc_out_file *out)
{
    memset(sink, 0, sizeof *sink);
    sink->base.append = sink_append;
    sink->out = out;
}

lsc_status lsc_pb_write(lsc_pb_sink *sink, const ProtobufCMessage *message, lsc_error *error)
{
    protobuf_c_message_pack_to_buffer(message, &sink->base);
    if (sink->status != LSC_OK) {
        if (error)
            *error = sink->error;
        return sink->status;
    }
    return LSC_OK;
}
